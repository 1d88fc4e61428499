#!/usr/bin/env python3
"""A scripted ECS endpoint for the rollout-detection benchmark (not a test double of deployer's:
it answers the AWS JSON protocol any client speaks). After UpdateService, the service's new
deployment stays IN_PROGRESS for --rollout-seconds (plus up to 1 s at random), then is COMPLETED and alone; the moment it
flips is written to --flip-file as a Unix time, so the benchmark can tell how long a client took
to notice. Usage: scripted_ecs.py --port 15010 --rollout-seconds 3.3 --flip-file /tmp/flip"""
import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:"
state = {"updated_at": None, "revision": 1, "flip_written": False, "rollout_seconds": 0.0}
lock = threading.Lock()


def deployment(deployment_id, status, revision, running, rollout_state):
    return {
        "id": deployment_id, "status": status, "taskDefinition": ARN + str(revision),
        "desiredCount": 1, "runningCount": running, "pendingCount": 1 - running, "failedTasks": 0,
        "createdAt": time.time(), "updatedAt": time.time(), "rolloutState": rollout_state,
    }


def service():
    with lock:
        updated_at, revision = state["updated_at"], state["revision"]
        if updated_at is None:
            deployments = [deployment("ecs-svc/1", "PRIMARY", 1, 1, "COMPLETED")]
        elif time.time() < updated_at + state["rollout_seconds"]:
            deployments = [
                deployment("ecs-svc/2", "PRIMARY", revision, 0, "IN_PROGRESS"),
                deployment("ecs-svc/1", "ACTIVE", 1, 1, "COMPLETED"),
            ]
        else:
            if not state["flip_written"]:
                with open(ARGS.flip_file, "w") as flip:
                    flip.write(repr(updated_at + state["rollout_seconds"]))
                state["flip_written"] = True
            deployments = [deployment("ecs-svc/2", "PRIMARY", revision, 1, "COMPLETED")]
    return {
        "serviceName": "tutorial-site-service", "status": "ACTIVE",
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-cluster/tutorial-site-service",
        "taskDefinition": deployments[0]["taskDefinition"], "desiredCount": 1,
        "runningCount": sum(d["runningCount"] for d in deployments),
        "pendingCount": sum(d["pendingCount"] for d in deployments),
        "deployments": deployments, "events": [], "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100},
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
        elif action == "UpdateService":
            with lock:
                state["updated_at"] = time.time()
                state["flip_written"] = False
                # A random moment, so a client's poll phase does not line up the same way each run.
                state["rollout_seconds"] = ARGS.rollout_seconds + random.uniform(0.0, 1.0)
                state["revision"] = int(str(body.get("taskDefinition", "x:1")).rsplit(":", 1)[-1])
            answer = {"service": service()}
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
ARGS = parser.parse_args()
ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()
