# tailnet.headscale: audit records for headscale's registration requests.
#
# headscale (0.29) logs every request inside the Noise channel at info level
#   "http request ... method=POST path=/machine/register remote=ADDR:PORT status=200"
# but neither the pre-auth key presented nor whether the registration was
# accepted; a refused key is logged nowhere else. This follows headscale's
# journal and writes one record per registration request to the audit trail
# (syslog identifier tailnet-headscale), and a warning when one address sends
# more than ALERT_THRESHOLD of them within ALERT_WINDOW seconds.
import collections
import json
import os
import re
import subprocess
import syslog
import time

IDENTIFIER = "tailnet-headscale"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def registration(message):
    """The fields of a registration request log line, or None for any other line."""
    message = ANSI.sub("", message)
    if "http request" not in message:
        return None
    fields = {key: value.strip('"') for key, value in FIELD.findall(message)}
    path = fields.get("path", "")
    if path != "/machine/register" and not path.startswith("/register/"):
        return None
    # "1.2.3.4:5678" or "[2001:db8::1]:5678": the address without the port.
    remote = re.sub(r":\d+$", "", fields.get("remote", "unknown")).strip("[]")
    return {"remote": remote, "path": path, "status": fields.get("status", "?")}


def main():
    threshold = int(os.environ.get("ALERT_THRESHOLD", "5"))
    window = int(os.environ.get("ALERT_WINDOW", "600"))
    cursor_file = os.path.join(os.environ.get("STATE_DIRECTORY", "/var/lib/tailnet-headscale-watch"), "cursor")
    command = ["journalctl", "--unit=headscale.service", "--follow", "--output=json", "--no-pager"]
    try:
        with open(cursor_file) as handle:
            command.append("--after-cursor=" + handle.read().strip())
    except OSError:
        command.append("--lines=0")  # first start: from now on
    syslog.openlog(IDENTIFIER, 0, syslog.LOG_AUTH)
    recent = collections.defaultdict(collections.deque)
    journal = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for line in journal.stdout:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        request = registration(entry.get("MESSAGE") if isinstance(entry.get("MESSAGE"), str) else "")
        if request is None:
            continue
        syslog.syslog(syslog.LOG_NOTICE, "event=registration-request remote=%(remote)s path=%(path)s status=%(status)s" % request)
        now = time.monotonic()
        seen = recent[request["remote"]]
        seen.append(now)
        while seen and seen[0] < now - window:
            seen.popleft()
        if len(seen) > threshold:
            syslog.syslog(syslog.LOG_WARNING, "event=registration-burst remote=%s count=%d window=%ds"
                          % (request["remote"], len(seen), window))
        with open(cursor_file + ".new", "w") as handle:
            handle.write(entry["__CURSOR"])
        os.replace(cursor_file + ".new", cursor_file)
    return journal.wait()


if __name__ == "__main__":
    raise SystemExit(main())
