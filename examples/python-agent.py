#!/usr/bin/env python3
"""A Baton agent in Python, standard library only: it registers with a `baton server`, claims
tasks (long-polling), runs them, and completes or fails each one with its lease token and its
agent id (or, when a handler raises Busy, releases it for later).

    npx baton server --port 7400 &
    python3 examples/python-agent.py --url http://127.0.0.1:7400 --types upper,add

Environment: BATON_URL (default http://127.0.0.1:7400) and BATON_TOKEN (a bearer token with the
`work` scope, when the server has tokens). See docs/http-api.md, "Workers in any language".
"""

import argparse
import json
import os
import socket
import sys
import threading
import traceback
import urllib.error
import urllib.request


class LeaseLost(Exception):
    """The server refused the lease call (409 BATON_LEASE_LOST): another attempt owns the task now."""


class Busy(Exception):
    """Raise from a handler for "not now" (the service it calls is busy, a rate limit): the lease
    is released, not failed, so the attempt does not count, and the task can be claimed again
    after delay_ms. Like the SDK's DeferError: a task that is always busy waits forever."""

    def __init__(self, message, delay_ms):
        super().__init__(message)
        self.delay_ms = delay_ms


class Client:
    def __init__(self, url, token=None):
        self.url = url.rstrip("/")
        self.token = token

    def post(self, path, body, timeout=40):
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            payload = json.load(error)
            code = payload.get("error", {}).get("code")
            if code == "BATON_LEASE_LOST":
                raise LeaseLost(payload["error"]["message"]) from None
            raise RuntimeError(f"{path}: {error.code} {code}: {payload['error']['message']}") from None


# The handlers this agent runs, by task type.
def upper(payload):
    return {"text": str(payload.get("text", "")).upper()}


def add(payload):
    return {"sum": sum(payload.get("numbers", []))}


HANDLERS = {"upper": upper, "add": add}


def release(client, agent_id, task_id, token, busy):
    """Give the lease back for busy.delay_ms without counting the attempt."""
    try:
        client.post(
            f"/v1/leases/{task_id}/release",
            {"token": token, "agentId": agent_id, "delayMs": busy.delay_ms, "reason": f"deferred: {busy}"},
        )
        print(f"deferred {task_id} for {busy.delay_ms} ms: {busy}", flush=True)
    except LeaseLost as lost:
        print(f"lease lost: {lost}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BATON_URL", "http://127.0.0.1:7400"))
    parser.add_argument("--types", default=",".join(HANDLERS), help="task types to take")
    parser.add_argument("--capabilities", default="python", help="comma-separated")
    parser.add_argument("--max-tasks", type=int, default=0, help="exit after this many (0: never)")
    args = parser.parse_args()

    client = Client(args.url, os.environ.get("BATON_TOKEN"))
    types = [t for t in args.types.split(",") if t]
    agent = client.post(
        "/v1/agents",
        {
            "name": f"python-{socket.gethostname()}-{os.getpid()}",
            "capabilities": [c for c in args.capabilities.split(",") if c],
            "concurrency": 1,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
    agent_id = agent["id"]
    print(f"registered {agent_id}", flush=True)

    # Heartbeat in the background, so the agent is not declared lost while it waits or works.
    stop = threading.Event()

    def beat():
        while not stop.wait(1.0):
            try:
                client.post(f"/v1/agents/{agent_id}/heartbeat", {}, timeout=5)
            except Exception as error:  # noqa: BLE001 - keep beating through a blip
                print(f"heartbeat failed: {error}", file=sys.stderr, flush=True)

    threading.Thread(target=beat, daemon=True).start()

    done = 0
    try:
        while args.max_tasks == 0 or done < args.max_tasks:
            claimed = client.post(
                f"/v1/agents/{agent_id}/claim", {"types": types, "max": 1, "waitMs": 10000}
            )
            for lease in claimed["leases"]:
                # Every lease call names the token and the agent that holds the lease.
                task, token = lease["task"], lease["token"]
                try:
                    result = HANDLERS[task["type"]](task["payload"] or {})
                    # The attempt's last lines go with its outcome (its log: baton logs <id>).
                    client.post(
                        f"/v1/leases/{task['id']}/complete",
                        {
                            "token": token,
                            "agentId": agent_id,
                            "result": result,
                            "logs": [{"text": f"{task['type']}: done in python"}],
                        },
                    )
                    print(f"completed {task['id']}", flush=True)
                except Busy as busy:
                    release(client, agent_id, task["id"], token, busy)
                    continue  # not done: it comes back later
                except LeaseLost as lost:
                    print(f"lease lost: {lost}", file=sys.stderr, flush=True)
                except Exception as error:  # noqa: BLE001 - report any handler failure
                    client.post(
                        f"/v1/leases/{task['id']}/fail",
                        {
                            "token": token,
                            "agentId": agent_id,
                            "error": {"message": str(error), "name": type(error).__name__},
                            # A failed attempt keeps its traceback in its log.
                            "logs": [
                                {"text": line, "stream": "stderr", "level": "error"}
                                for line in traceback.format_exc().splitlines()
                            ],
                        },
                    )
                done += 1
    finally:
        stop.set()


if __name__ == "__main__":
    main()
