// bencode (WebTorrent's own codec, imported by src/common/exchange.js) ships no types; what it uses of it.
declare module 'bencode' {
  interface Decode {
    (data: Uint8Array): any;
    /** where the last decode stopped, in bytes from the start of its input */
    position: number;
  }
  const bencode: { encode(value: unknown): Uint8Array; decode: Decode };
  export default bencode;
}
