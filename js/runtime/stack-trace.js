// Stacks that point at the app's sources. `world-cloudflare build` appends to the Worker's
// bundle the part of its source map that leads into the app's own files (js/cli.mjs
// `appendAppSourceMap`), under the global symbol APP_SOURCE_MAP. The formatter installed
// here writes each frame in that bundle as V8 would, with its `.ts` file, line and column
// instead of the bundle's, so a failed step's stack, which `workflow` stores with the step,
// shows where its code threw. Frames elsewhere, and every frame when the bundle carries no
// table or was bundled again (wrangler names that file differently), are left as they are.
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

export const APP_SOURCE_MAP = '@workflow/world-cloudflare/app-source-map';

let traced;

function header(error) {
  try {
    return String(error);
  } catch {
    return `${error?.name}: ${error?.message}`;
  }
}

/** One frame as V8 writes it, at its place in the app's sources when the table has it. */
function located(frame) {
  const text = String(frame);
  const file = frame.getFileName?.();
  const line = frame.getLineNumber?.();
  const column = frame.getColumnNumber?.();
  if (!traced || !file || !line || !column || !file.endsWith(traced.file)) return text;
  const original = originalPositionFor(traced, { line, column: column - 1 });
  const place = `:${line}:${column}`;
  const end = text.lastIndexOf(place);
  if (original.source == null || end < 0) return text;
  // The location is the last word of the frame, alone or in parentheses; V8 may write the
  // file as a URL of which getFileName() is the last part.
  const start = Math.max(text.lastIndexOf(' ', end), text.lastIndexOf('(', end)) + 1;
  const at = `${original.source}:${original.line}:${original.column + 1}`;
  return `${text.slice(0, start)}${at}${text.slice(end + place.length)}`;
}

/** Formats every stack of this isolate with `located` frames, unless something else already formats them. */
export function installStackTrace() {
  if (typeof Error.prepareStackTrace === 'function') return;
  Error.prepareStackTrace = (error, frames) => {
    const table = globalThis[Symbol.for(APP_SOURCE_MAP)];
    if (table && !traced) traced = new TraceMap(table);
    return [header(error), ...frames.map((frame) => `    at ${located(frame)}`)].join('\n');
  };
}
