// Types of @workflow/world-cloudflare/remote: the World over HTTP (js/remote.js).
import type { CloudflareWorld, CloudflareWorldV5 } from './index.js';

export interface RemoteWorldOptions {
  /** The URL where the Worker mounts `serveWorld`; default `WORKFLOW_CLOUDFLARE_URL`. */
  url?: string;
  /** The Worker's `WORKFLOW_REMOTE_SECRET`; default the same variable here. */
  secret?: string;
  /** 3 (default, `workflow` 4.x) or 7 (5.x); default `WORKFLOW_CLOUDFLARE_SPEC_VERSION`. */
  specVersion?: 3 | 7;
  /** Checks signed HTTP deliveries to this process's routes; default `WORKFLOW_SECRET`. */
  deliverySecret?: string;
  /** Per-request timeout (ms), default 30000. */
  timeoutMs?: number;
  /** The `fetch` to call the Worker with (default the global one). */
  fetch?: typeof fetch;
}

/** The World of a Worker over HTTP. Synchronous; the URL and secret are checked by the first call. */
export function createWorld(options?: RemoteWorldOptions & { specVersion?: 3 }): CloudflareWorld;
export function createWorld(options: RemoteWorldOptions & { specVersion: 7 }): CloudflareWorldV5;
export default createWorld;
