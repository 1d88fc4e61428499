#!/usr/bin/env bash
# Fails the step, saying why: job parameters that do not fit together. REFUSAL is the reason.
echo "${REFUSAL:?REFUSAL says why the step fails}" >&2
exit 1
