/**
 * The MQTT codec: bytes ↔ packets, with no sockets, sessions or engine. Whole packets are cut from
 * the stream here; PUBLISH without properties and the short acks, the hot path, are decoded and
 * encoded here directly, everything else by mqtt-packet.
 */
export { PacketSplitter } from './packet-splitter.js';
export { decodePublish, decodeShortAck } from './publish-decoder.js';
export { encodeAck, encodePublish } from './publish-encoder.js';
