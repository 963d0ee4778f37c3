"""pika interop: drives a broker through the features pika users rely on and prints one JSON result.

Usage: /usr/bin/python3 pika_client.py <port>
"""
import json
import sys
import uuid

import pika

port = int(sys.argv[1])
params = pika.ConnectionParameters(host="127.0.0.1", port=port, credentials=pika.PlainCredentials("guest", "guest"), heartbeat=30)
result = {}

conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.confirm_delivery()

# Declare, publish with confirms, basic.get.
q = ch.queue_declare(queue="", exclusive=True).method.queue
ch.basic_publish(exchange="", routing_key=q, body=b"from pika", properties=pika.BasicProperties(content_type="text/plain", headers={"n": 1}, delivery_mode=2))
method, props, body = ch.basic_get(q, auto_ack=False)
result["get"] = {"body": body.decode(), "content_type": props.content_type, "headers": props.headers}
ch.basic_ack(method.delivery_tag)

# Topic exchange and a consumer.
ch.exchange_declare(exchange="pika-topic", exchange_type="topic", durable=False)
ch.queue_bind(queue=q, exchange="pika-topic", routing_key="a.*")
for key in ["a.one", "b.two", "a.three"]:
    ch.basic_publish(exchange="pika-topic", routing_key=key, body=key.encode())
consumed = []
for method, props, body in ch.consume(q, inactivity_timeout=2):
    if method is None:
        break
    consumed.append(body.decode())
    ch.basic_ack(method.delivery_tag)
    if len(consumed) == 2:
        break
ch.cancel()
result["topic"] = consumed

# Mandatory publish to nowhere: pika raises UnroutableError in confirm mode.
try:
    ch.basic_publish(exchange="", routing_key="no-such-queue-" + uuid.uuid4().hex, body=b"x", mandatory=True)
    result["unroutable"] = "delivered"
except pika.exceptions.UnroutableError:
    result["unroutable"] = "returned"

# Channel error: passive declare of a missing queue → 404.
ch2 = conn.channel()
try:
    ch2.queue_declare(queue="missing-" + uuid.uuid4().hex, passive=True)
except pika.exceptions.ChannelClosedByBroker as err:
    result["passive_missing"] = err.reply_code

# Direct reply-to round trip, the server side on its own connection.
ch3 = conn.channel()
replies = []
ch3.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(b.decode()), auto_ack=True)
server_conn = pika.BlockingConnection(params)
server_ch = server_conn.channel()
server_q = server_ch.queue_declare(queue="", exclusive=True).method.queue
ch3.basic_publish(exchange="", routing_key=server_q, body=b"ping", properties=pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
request = None
while request is None or request[0] is None:
    request = server_ch.basic_get(server_q, auto_ack=True)
server_ch.basic_publish(exchange="", routing_key=request[1].reply_to, body=b"pong")
server_conn.close()
while not replies:
    conn.process_data_events(time_limit=0.2)
result["reply_to"] = replies

ch.exchange_delete("pika-topic")
conn.close()
print(json.dumps(result))
