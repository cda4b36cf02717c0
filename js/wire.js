// The HTTP body of a delivery, as world-local writes it (contract §5.3): JSON in which a
// Uint8Array is `{"__type":"Uint8Array","data":"<base64>"}`. Dates become ISO strings,
// which core coerces back.

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBody(payload) {
  return JSON.stringify(payload, (_key, value) =>
    value instanceof Uint8Array ? { __type: 'Uint8Array', data: toBase64(value) } : value,
  );
}

export function decodeBody(text) {
  return JSON.parse(text, (_key, value) =>
    value && value.__type === 'Uint8Array' && typeof value.data === 'string' ? fromBase64(value.data) : value,
  );
}
