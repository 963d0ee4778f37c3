"""kombu (py-amqp, Celery's transport) against a broker: a priority queue as Celery declares it
(Queue(max_priority=...)), messages published with priority=, consumed with prefetch 1.
Prints the bodies in the order they were consumed, as JSON. Usage: kombu_priority.py URL QUEUE"""
import json
import sys

from kombu import Connection, Exchange, Queue

url, name = sys.argv[1], sys.argv[2]
exchange = Exchange(name, type="direct", durable=False)
queue = Queue(name, exchange, routing_key=name, max_priority=10, durable=False, auto_delete=True)
# A fixed shuffle: two messages per level 0..9, plus one above the maximum (counts as 10).
order = [3, 9, 0, 6, 1, 8, 4, 7, 2, 5] * 2 + [12]
got = []
with Connection(url) as conn:
    with conn.channel() as channel:
        queue(channel).declare()
        producer = conn.Producer(channel)
        for i, priority in enumerate(order):
            producer.publish(
                {"n": i, "priority": priority},
                exchange=exchange,
                routing_key=name,
                priority=priority,
                serializer="json",
                declare=[queue],
            )

        def on_message(body, message):
            got.append(body["n"])
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message], prefetch_count=1):
            while len(got) < len(order):
                conn.drain_events(timeout=5)
print(json.dumps(got))
