"""Celery 5 against a broker (issue 16, item 1): immediate tasks must not wait behind ETA tasks.

A worker holds every countdown task it receives and raises its channel's prefetch (basic.qos)
for each; with the spec's meaning of global=false (which kombu sends to a server that is not
RabbitMQ) the immediate tasks queued behind them are delivered at once. Prints JSON {"immediate": [seconds from the worker's start to each run], "eta_ran_early": n}.
Usage: celery_eta.py BROKER_URL QUEUE OUT_FILE"""
import json
import os
import subprocess
import sys
import time

from celery import Celery

BROKER = os.environ.get("CELERY_ETA_BROKER", "memory://")
QUEUE = os.environ.get("CELERY_ETA_QUEUE", "celery-eta")
OUT = os.environ.get("CELERY_ETA_OUT", "/dev/null")

app = Celery("celery_eta", broker=BROKER)
app.conf.task_default_queue = QUEUE
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False


@app.task(name="celery_eta.mark")
def mark(kind, sent):
    with open(OUT, "a") as f:
        f.write(json.dumps({"kind": kind, "sent": sent, "ran": time.time()}) + "\n")


def main():
    url, queue, out = sys.argv[1], sys.argv[2], sys.argv[3]
    app.conf.broker_url = url
    app.conf.task_default_queue = queue
    # Queued before the worker starts, as a backlog is: 12 countdown tasks, then 4 immediate ones.
    for _ in range(12):
        mark.apply_async(args=["eta", time.time()], countdown=10, queue=queue)
    for _ in range(4):
        mark.apply_async(args=["immediate", time.time()], queue=queue)
    env = dict(os.environ, CELERY_ETA_BROKER=url, CELERY_ETA_QUEUE=queue, CELERY_ETA_OUT=out)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    # Two processes, Celery's default prefetch multiplier (4): a prefetch of 8 to start with,
    # raised by one for every countdown task the worker holds.
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_eta", "worker", "-P", "prefork", "-c", "2",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        env=env, cwd=here, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    started = time.time()
    try:
        deadline = started + 25
        while sum('"immediate"' in line for line in read(out)) < 4 and time.time() < deadline:
            if worker.poll() is not None:
                raise SystemExit("the worker exited with %d" % worker.returncode)
            time.sleep(0.05)
        rows = [json.loads(line) for line in read(out)]
        print(json.dumps({
            # Seconds from the worker's start to each immediate task's run.
            "immediate": [round(r["ran"] - started, 3) for r in rows if r["kind"] == "immediate"],
            "eta_ran_early": sum(1 for r in rows if r["kind"] == "eta" and r["ran"] - r["sent"] < 9.5),
        }))
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()


def read(path):
    try:
        with open(path) as f:
            return [line for line in f.read().splitlines() if line]
    except FileNotFoundError:
        return []


if __name__ == "__main__":
    main()
