"""Celery-shaped AMQP load for bench/amqp (issue 16): N tasks submitted from one producer
(persistent publishes on one channel with publisher confirms, kombu's default for Celery 5),
run by a prefork worker of 2 processes, each result sent back through an `rpc://` reply queue;
the producer waits for all N results. Prints JSON {"count", "seconds", "rate", "submitSeconds"}:
first submit to last result, and to the last submit. Usage: celery_tasks.py BROKER_URL QUEUE N"""
import json
import os
import subprocess
import sys
import time

from celery import Celery
from celery.result import ResultSet

app = Celery("celery_tasks", broker=os.environ.get("BENCH_CELERY_BROKER", "memory://"), backend="rpc://")
app.conf.task_default_queue = os.environ.get("BENCH_CELERY_QUEUE", "bench-celery")
app.conf.broker_transport_options = {"confirm_publish": True}
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False


@app.task(name="celery_tasks.add")
def add(x, y):
    return x + y


def main():
    url, queue, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app.conf.broker_url = url
    app.conf.task_default_queue = queue
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, BENCH_CELERY_BROKER=url, BENCH_CELERY_QUEUE=queue)
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "-P", "prefork", "-c", "2",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        env=env, cwd=here, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Warm-up: the worker is up and the result path works.
        add.delay(0, 0).get(timeout=60)
        started = time.time()
        results = [add.delay(i, i) for i in range(n)]
        submitted = time.time() - started
        # One drain loop for all of them (join_native), as an application waiting on a batch would.
        values = ResultSet(results).get(timeout=120)
        if values != [2 * i for i in range(n)]:
            raise SystemExit("wrong results")
        seconds = time.time() - started
        print(json.dumps({"count": n, "seconds": seconds, "rate": n / seconds, "submitSeconds": submitted}))
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        # The task queue is durable: leave nothing behind on a shared RabbitMQ.
        with app.connection() as conn:
            conn.default_channel.queue_delete(queue)


if __name__ == "__main__":
    main()
