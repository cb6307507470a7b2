"""Check the candidate config and policy of a run before anything lands (tasks/validate.yml).

Reads {"config": TEXT, "policy": TEXT or "", "oidc_client_secret": TEXT or ""} on stdin (never argv:
a config can hold secrets), writes them to a private temporary directory, and runs the installed validator
(headscale-configtest VALIDATOR BINARY --config CONFIG [POLICY]) with the binary that will run
them: one call checks both files together, as headscale will load them. Exits with the
validator's status; headscale's own words are on stderr. Removes what it wrote."""

import json
import os
import shutil
import subprocess
import sys
import tempfile


def main(argv):
    validator, binary = argv
    candidate = json.load(sys.stdin)
    work = tempfile.mkdtemp(prefix="tailnet-headscale-candidate.")
    try:
        command = [validator, binary, "--config", os.path.join(work, "config.yaml")]
        with open(command[-1], "w") as handle:
            handle.write(candidate["config"])
        if candidate.get("policy"):
            command.append(os.path.join(work, "policy.json"))
            with open(command[-1], "w") as handle:
                handle.write(candidate["policy"])
        env = dict(os.environ)
        if candidate.get("oidc_client_secret"):
            # The config names the file the secret will land in, which does not exist yet: headscale
            # reads this copy instead (its environment beats the file), 0600 in the private directory.
            env["HEADSCALE_OIDC_CLIENT_SECRET_PATH"] = os.path.join(work, "oidc_client_secret")
            fd = os.open(env["HEADSCALE_OIDC_CLIENT_SECRET_PATH"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(candidate["oidc_client_secret"])
        run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             check=False, env=env)
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        return run.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
