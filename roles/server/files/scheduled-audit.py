# tailnet.headscale: the security audit on a schedule (tailnet-headscale-audit.service, its timer).
#
# The same checks as the module tailnet.headscale.audit (plugins/module_utils/audit.py), on the
# server itself, with no controller: the facts are collected by module_utils/audit_facts.py and
# checked by module_utils/audit.py, both installed next to this script by the server role (LIB
# below), unchanged. Outputs:
#   - one journal record per finding (syslog identifier tailnet-headscale, priority from severity),
#     and one summary record;
#   - Prometheus metrics in node_exporter's textfile directory, written atomically
#     (module_utils/audit_metrics.py), which the alert rules of roles/monitoring read.
# Read-only on the server: it takes no host lock and changes nothing but its metrics file.
# Exit status: 0, or 1 when a finding at or above the settings' fail_on exists (the unit is then
# "failed", which systemctl --failed shows), or 2 when the facts could not be collected.
#
# Usage: python3 scheduled-audit.py SETTINGS.json (written by the server role).
import json
import os
import subprocess
import sys
import syslog
import time
import types

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tailnet-headscale-audit")
METRICS_FILE = "tailnet-headscale.prom"


def _converters_without_ansible():
    """module_utils/headscale.py imports ansible's to_native and to_text. The server has no Ansible; on Python 3
    both come down to str() of text and decoding bytes, so the scheduled audit gives them that."""
    try:
        import ansible.module_utils.common.text.converters  # noqa: F401  pylint: disable=unused-import
        return
    except ImportError:
        pass

    def to_text(obj, encoding="utf-8", errors="surrogate_or_strict", nonstring="simplerepr"):
        if isinstance(obj, bytes):
            return obj.decode(encoding, "surrogateescape" if errors.startswith("surrogate") else errors)
        return obj if isinstance(obj, str) else str(obj)

    for name in ("ansible", "ansible.module_utils", "ansible.module_utils.common", "ansible.module_utils.common.text"):
        sys.modules.setdefault(name, types.ModuleType(name))
    converters = types.ModuleType("ansible.module_utils.common.text.converters")
    converters.to_text = converters.to_native = converters.to_str = to_text
    sys.modules["ansible.module_utils.common.text.converters"] = converters


class HostModule(object):
    """What audit_facts.collect() and HeadscaleClient ask of an AnsibleModule, on the host."""

    _name = "scheduled-audit"
    check_mode = True

    def __init__(self, params):
        self.params = params
        self.warnings = []

    @staticmethod
    def get_bin_path(name, required=False):
        if os.path.isabs(name):
            return name if os.access(name, os.X_OK) else None
        for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            path = os.path.join(directory, name)
            if os.access(path, os.X_OK):
                return path
        return None

    @staticmethod
    def run_command(argv, environ_update=None):
        env = dict(os.environ)
        env.update(environ_update or {})
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return 127, "", str(error)
        return done.returncode, done.stdout, done.stderr

    def warn(self, message):
        self.warnings.append(message)


def log(priority, line):
    syslog.openlog("tailnet-headscale", syslog.LOG_PID, syslog.LOG_AUTH)
    syslog.syslog(priority, line)
    syslog.closelog()


def main(argv):
    started = time.time()
    with open(argv[1]) as handle:
        settings = json.load(handle)
    sys.path.insert(0, settings.get("lib") or LIB)
    _converters_without_ansible()
    # pylint: disable=import-outside-toplevel
    from ansible_collections.tailnet.headscale.plugins.module_utils import audit, audit_metrics
    from ansible_collections.tailnet.headscale.plugins.module_utils.audit_facts import backup_facts, collect
    from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import HeadscaleClient, parse_timestamp

    module = HostModule(dict(
        headscale_binary=settings["binary"], headscale_config=settings["config"], unit=settings["unit"],
        backup_dir=settings["backup_dirs"][0] if settings["backup_dirs"] else "", tls_certificate=settings["tls_certificate"],
        ledger_file=settings["ledger_file"], quarantine_tag=settings["quarantine_tag"],
        pinned_version=settings["pinned_version"]))
    interval = settings["interval"]
    schedule = settings.get("backup_schedule")
    calendar_interval = None
    if schedule:
        rc, out, err = module.run_command(["systemd-analyze", "calendar", "--iterations=2", schedule], dict(LC_ALL="C", TZ="UTC"))
        calendar_interval = audit_metrics.schedule_interval(out) if rc == 0 else None
    thresholds = dict(settings.get("thresholds") or {})
    max_age = audit_metrics.backup_max_age(calendar_interval, audit.thresholds_in_seconds(thresholds)["backup_max_age"])
    thresholds["backup_max_age"] = "%ds" % max_age
    ok, findings, facts, backups = True, [], {}, (None, 0)
    try:
        facts, warnings = collect(module, HeadscaleClient(module), module.params)
        facts["backups"] = None  # the checks below see the newest of every backup directory
        backups = audit_metrics.newest_backup(*[backup_facts(d) for d in settings["backup_dirs"]])
        if settings["backup_dirs"]:
            newest, count = backups
            facts["backups"] = dict(dir=" and ".join(settings["backup_dirs"]), newest=newest, count=count)
        findings = audit.run_checks(facts, thresholds, now=parse_timestamp(facts["now"]), skip=settings.get("skip") or ())
    except Exception as error:  # pylint: disable=broad-except  # said in the journal and in the metrics
        ok, warnings = False, []
        log(syslog.LOG_ERR, "event=audit-failed reason=%s" % str(error).replace("\n", " "))
    for warning in warnings + module.warnings:
        log(syslog.LOG_WARNING, "event=audit-warning %s" % warning)
    for finding in findings:
        log(audit_metrics.PRIORITIES[finding["severity"]], audit_metrics.finding_line(finding))
    counts = audit.counts(findings)
    duration = time.time() - started
    if ok:
        log(syslog.LOG_NOTICE, "event=audit-summary findings=%d %s seconds=%.2f" % (
            len(findings), " ".join("%s=%d" % (s, counts[s]) for s in reversed(audit.SEVERITIES)), duration))
    directory = settings.get("textfile_dir")
    if directory:
        if os.path.isdir(directory):
            text = audit_metrics.render(findings, facts, started, duration, interval, max_age, backups=backups, ok=ok,
                                        limit=settings.get("top_clients") or audit_metrics.TOP_CLIENTS)
            audit_metrics.write_atomic(directory, METRICS_FILE, text)
        else:
            log(syslog.LOG_WARNING, "event=audit-warning no metrics written: %s does not exist (is prometheus-node-exporter "
                                    "installed? headscale_audit_textfile_dir)" % directory)
    if not ok:
        return 2
    return 1 if audit.at_or_above(findings, settings.get("fail_on")) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
