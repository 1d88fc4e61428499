#!/usr/bin/env python3
"""A scripted ECS endpoint for the rollout-detection benchmark (not a test double of deployer's:
it answers the AWS JSON protocol any client speaks). After UpdateService, the service's new
deployment stays IN_PROGRESS for --rollout-seconds (plus up to 1 s at random), then is COMPLETED and alone; the moment it
flips is written to --flip-file as a Unix time, so the benchmark can tell how long a client took
to notice. Usage: scripted_ecs.py --port 15010 --rollout-seconds 3.3 --flip-file /tmp/flip
Options that script what real ECS does at times, for the tests of deployer's wait:
  --stale-polls N        the first N DescribeServices after UpdateService answer the service as it
                         was before (DescribeServices is eventually consistent)
  --old-placement-event  the service's events hold an "unable to place a task" event of yesterday
  --desired-count N      the service's desired count (0: nothing runs)
  --update-error CODE    UpdateService fails with this error code (after RegisterTaskDefinition worked)"""
import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:"
state = {"updated_at": None, "revision": 1, "flip_written": False, "rollout_seconds": 0.0,
         "stale_left": 0, "registered": 1}
lock = threading.Lock()


def deployment(deployment_id, status, revision, running, rollout_state, created_at=None):
    desired = ARGS.desired_count
    running = min(running, desired)
    return {
        "id": deployment_id, "status": status, "taskDefinition": ARN + str(revision),
        "desiredCount": desired, "runningCount": running, "pendingCount": desired - running, "failedTasks": 0,
        "createdAt": created_at or time.time(), "updatedAt": time.time(), "rolloutState": rollout_state,
    }


def events():
    if not ARGS.old_placement_event:
        return []
    yesterday = time.time() - 86400
    return [{"id": "old-placement", "createdAt": yesterday,
             "message": "(service tutorial-site-service) was unable to place a task because no container instance met all of its requirements."}]


def service(stale_ok=True):
    with lock:
        updated_at, revision = state["updated_at"], state["revision"]
        stale = stale_ok and state["stale_left"] > 0
        if stale:
            state["stale_left"] -= 1
        if updated_at is None or stale:
            deployments = [deployment("ecs-svc/1", "PRIMARY", 1, 1, "COMPLETED", created_at=time.time() - 3600)]
        elif time.time() < updated_at + state["rollout_seconds"]:
            deployments = [
                deployment("ecs-svc/2", "PRIMARY", revision, 0, "IN_PROGRESS", created_at=updated_at),
                deployment("ecs-svc/1", "ACTIVE", 1, 1, "COMPLETED", created_at=time.time() - 3600),
            ]
        else:
            if not state["flip_written"]:
                with open(ARGS.flip_file, "w") as flip:
                    flip.write(repr(updated_at + state["rollout_seconds"]))
                state["flip_written"] = True
            deployments = [deployment("ecs-svc/2", "PRIMARY", revision, 1, "COMPLETED", created_at=updated_at)]
    return {
        "serviceName": "tutorial-site-service", "status": "ACTIVE",
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-cluster/tutorial-site-service",
        "taskDefinition": deployments[0]["taskDefinition"], "desiredCount": ARGS.desired_count,
        "runningCount": sum(d["runningCount"] for d in deployments),
        "pendingCount": sum(d["pendingCount"] for d in deployments),
        "deployments": deployments, "events": events(), "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100},
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        action = self.headers.get("X-Amz-Target", "").split(".")[-1]
        if action == "DescribeServices":
            answer = {"services": [service()], "failures": []}
        elif action == "DescribeTaskDefinition":
            answer = {"taskDefinition": {"taskDefinitionArn": ARN + "1", "family": "tutorial-site-task", "revision": 1,
                                         "containerDefinitions": [{"name": "tutorial-site-app", "image": "app:1", "memory": 512}]}}
        elif action == "RegisterTaskDefinition":
            with lock:
                state["registered"] += 1
                revision = state["registered"]
            answer = {"taskDefinition": dict(body, taskDefinitionArn=ARN + str(revision), revision=revision)}
        elif action == "UpdateService" and ARGS.update_error:
            data = json.dumps({"__type": ARGS.update_error, "message": "scripted failure of UpdateService"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        elif action == "UpdateService":
            with lock:
                state["updated_at"] = time.time()
                state["flip_written"] = False
                # A random moment, so a client's poll phase does not line up the same way each run.
                state["rollout_seconds"] = ARGS.rollout_seconds + random.uniform(0.0, 1.0)
                state["revision"] = int(str(body.get("taskDefinition", "x:1")).rsplit(":", 1)[-1])
                state["stale_left"] = ARGS.stale_polls
            # UpdateService itself answers the new deployment; only later reads may lag.
            answer = {"service": service(stale_ok=False)}
        elif action == "ListTasks":
            answer = {"taskArns": []}
        else:
            answer = {}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=15010)
parser.add_argument("--rollout-seconds", type=float, default=3.3)
parser.add_argument("--flip-file", required=True)
parser.add_argument("--stale-polls", type=int, default=0)
parser.add_argument("--old-placement-event", action="store_true")
parser.add_argument("--desired-count", type=int, default=1)
parser.add_argument("--update-error", default="")
ARGS = parser.parse_args()
ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()
