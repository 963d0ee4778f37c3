import type { IDisconnectPacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { RC } from '../reason-codes.js';
import type { MqttSession } from '../session.js';

/** PINGREQ [MQTT-3.12.4-1]: answer at once. */
export function handlePingreq(conn: MqttConnection): void {
  conn.send({ cmd: 'pingresp' });
}

/** DISCONNECT: normal close drops the will; 5.0 reason 0x04 keeps it; a new session expiry may be set. */
export function handleDisconnect(
  conn: MqttConnection,
  session: MqttSession,
  packet: IDisconnectPacket,
): void {
  const expiry = packet.properties?.sessionExpiryInterval;
  if (conn.version === 5 && expiry !== undefined) {
    // A session created with expiry 0 may not be given one at DISCONNECT [MQTT-3.14.2-2].
    if (session.expiryIntervalSec === 0 && expiry > 0) return conn.close(RC.protocolError);
    session.expiryIntervalSec = expiry;
  }
  conn.close(undefined, { publishWill: conn.version === 5 && packet.reasonCode === RC.disconnectWithWill });
}
