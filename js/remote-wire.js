// The wire of the World over HTTP (js/serve.js in the Worker, js/remote.js in Node): a
// call and its answer as devalue text, so values keep their types across it (`Date`,
// `Uint8Array`, `undefined` apart from a missing field) and errors keep their name and
// fields (`status`, `code`, `retryAfter`…), which is how core tells them apart.
import * as devalue from 'devalue';

export const SIGNATURE_HEADER = 'x-wcf-world-signature';
/** Set on an answer that carries the World's error, as opposed to a proxy's or a crash's. */
export const WORLD_ERROR_HEADER = 'x-wcf-world-error';
export const CONTENT_TYPE = 'application/vnd.world-cloudflare.call+devalue';

/** An error as plain data: its name, message and own fields. */
function errorFields(error) {
  return { ...error, name: error.name, message: error.message };
}

/** The same error rebuilt, an `Error` whose `name` and fields are the thrower's. */
export function rebuildError({ name, message, ...fields }) {
  const error = new Error(message);
  error.name = name;
  return Object.assign(error, fields);
}

const REDUCERS = { Error: (v) => v instanceof Error && errorFields(v) };
const REVIVERS = { Error: rebuildError };

export const encode = (value) => devalue.stringify(value, REDUCERS);
export const decode = (text) => devalue.parse(text, REVIVERS);
