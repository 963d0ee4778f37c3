"""Paho MQTT client run by mqtt-paho.test.ts: subscribe, publish QoS 0/1/2 to itself, print what came back as JSON."""
import json
import sys
import threading

import paho.mqtt.client as mqtt

port = int(sys.argv[1])
version = sys.argv[2]  # "311" or "5"
topic = sys.argv[3]
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311

received = []
done = threading.Event()
subscribed = threading.Event()


def on_message(_client, _userdata, msg):
    props = {}
    if version == "5" and msg.properties is not None and hasattr(msg.properties, "UserProperty"):
        props = dict(msg.properties.UserProperty)
    received.append({"topic": msg.topic, "payload": msg.payload.decode(), "qos": msg.qos, "user": props})
    if len(received) == 3:
        done.set()


client = mqtt.Client(client_id=f"paho-{version}-{topic.replace('/', '-')}", protocol=protocol)
client.on_message = on_message
client.on_subscribe = lambda *args: subscribed.set()
if version == "5":
    client.connect("127.0.0.1", port, keepalive=30, clean_start=True)
else:
    client.connect("127.0.0.1", port, keepalive=30)
client.loop_start()
client.subscribe(f"{topic}/#", qos=2)
if not subscribed.wait(5):
    sys.exit("no SUBACK")
for qos in (0, 1, 2):
    properties = None
    if version == "5":
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes

        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = [("from", "paho")]
    info = client.publish(f"{topic}/q{qos}", f"hello {qos}", qos=qos, properties=properties)
    info.wait_for_publish(5)
ok = done.wait(5)
client.disconnect()
client.loop_stop()
print(json.dumps({"ok": ok, "received": sorted(received, key=lambda m: m["topic"])}))
