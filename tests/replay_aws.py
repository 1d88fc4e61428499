#!/usr/bin/env python3
"""Answers AWS calls from a `deployer --record` recording (tests/replays/*.jsonl), so a deploy
recorded against real AWS, the emulator or scripted ECS runs again as a test. Each operation's
recorded answers are given in their recorded order; once an operation's answers run out, its
last one is given again (a wait may poll more often than the recording did). Calls the recording
does not hold are answered 400 UnknownOperationException (InvalidAction on the Query protocol), which deployer treats as an API that
is not there. Usage: replay_aws.py RECORDING --port PORT"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

lock = threading.Lock()
answers = {}
served = {}


def load(path):
    with open(path) as recording:
        for line in recording:
            line = line.strip()
            if not line:
                continue
            call = json.loads(line)
            if "operation" in call and "status" in call:
                answers.setdefault(call["operation"], []).append(call)


def operation_of(headers, body):
    target = headers.get("X-Amz-Target", "")
    if target:
        return target.split(".")[-1]
    form = parse_qs(body.decode("utf-8", "replace"))
    return form.get("Action", [""])[0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        operation = operation_of(self.headers, body)
        with lock:
            recorded = answers.get(operation, [])
            index = served.get(operation, 0)
            served[operation] = index + 1
            call = recorded[min(index, len(recorded) - 1)] if recorded else None
        if call is None:
            message = f"{operation} is not in the recording"
            if self.headers.get("X-Amz-Target"):
                self.send(400, {"__type": "UnknownOperationException", "message": message})
            else:
                # The Query protocol's (IAM, STS, ELBv2) error for an action the endpoint lacks.
                self.send(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                          f"<Message>{message}</Message></Error><RequestId>replay</RequestId></ErrorResponse>")
            return
        self.send(call["status"], call.get("answer"))

    do_GET = do_POST

    def send(self, status, answer):
        if isinstance(answer, str):
            data, kind = answer.encode(), "text/xml"
        else:
            data, kind = json.dumps(answer if answer is not None else {}).encode(), "application/x-amz-json-1.1"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "replay")
        self.end_headers()
        self.wfile.write(data)


parser = argparse.ArgumentParser()
parser.add_argument("recording")
parser.add_argument("--port", type=int, required=True)
ARGS = parser.parse_args()
load(ARGS.recording)
server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
print("ready", flush=True)
server.serve_forever()
