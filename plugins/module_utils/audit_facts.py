# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the security audit reads on the server host, read-only, as the facts module_utils/audit.py checks.

headscale's own state (version, nodes, pre-auth keys) comes through HeadscaleClient, which owns every
difference between headscale versions; the rest is files, the journal and systemd. Nothing here writes,
and nothing takes the host lock: an audit never waits for, nor blocks, a run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import grp
import hashlib
import json
import os
import pwd
import re
import stat
import time

try:
    import yaml

    HAS_YAML = True
except ImportError:  # a minimal Debian has no python3-yaml
    HAS_YAML = False

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import AUDIT_IDENTIFIER, iso, read_private_json
from ansible_collections.tailnet.headscale.plugins.module_utils.node_keys import configured_node_expiry
from ansible_collections.tailnet.headscale.plugins.module_utils.registrations import (
    REGISTRATION_LIFETIME,
    journal_entries,
    pending_registrations,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.audit import registration_events

_EXPOSURE_RE = re.compile(r"Overall exposure level for \S+: ([0-9.]+)")


def _utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_info(path):
    """Mode, owner and group of PATH (not following a final symlink); exists=False when absent."""
    try:
        st = os.lstat(path)
    except OSError:
        return dict(path=path, exists=False)

    def name(lookup, ident):
        try:
            return lookup(ident)[0]
        except KeyError:
            return str(ident)

    return dict(path=path, exists=True, mode=stat.S_IMODE(st.st_mode), owner=name(pwd.getpwuid, st.st_uid),
                group=name(grp.getgrgid, st.st_gid))


# Files larger than this (the headscale binary, 50 MB) are compared by owner, group and mode only: hashing them
# would cost most of the audit's time on a busy host.
HASHED_SIZE_LIMIT = 8 * 1024 * 1024
_RECORD_LINE_RE = re.compile(r"^(file|dir) (\S+) (\S+)(?: ([0-9a-f]{64}))?\s*$")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def managed_files(record_path):
    """The files and directories the server role's last full run recorded (owner:group:mode, sha256 of files),
    each with what is there now. [] when there is no record (the role never completed a run here)."""
    try:
        with open(record_path) as record:
            lines = record.read().split("--- record")[0].splitlines()
    except (IOError, OSError):
        return []
    entries = []
    for line in lines:
        match = _RECORD_LINE_RE.match(line)
        if not match:
            continue
        kind, path, recorded, recorded_sha = match.groups()
        info = file_info(path)
        current = "%s:%s:%o" % (info["owner"], info["group"], info["mode"]) if info["exists"] else "absent"
        entry = dict(kind=kind, path=path, recorded=recorded, current=current)
        if kind == "file" and recorded_sha and (not info["exists"] or os.path.getsize(path) <= HASHED_SIZE_LIMIT):
            entry["recorded_sha256"] = recorded_sha
            try:
                entry["current_sha256"] = _sha256(path)
            except (IOError, OSError):
                entry["current_sha256"] = None
        entries.append(entry)
    return entries


def read_config(path):
    """headscale's config as a dict; (None, why) when it cannot be read."""
    if not HAS_YAML:
        return None, "PyYAML is not installed on the host (python3-yaml): the config checks are skipped"
    try:
        with open(path) as config:
            data = yaml.safe_load(config)
    except (IOError, OSError) as error:
        return None, "cannot read %s: %s" % (path, error)
    except yaml.YAMLError as error:
        return None, "%s is not valid YAML: %s" % (path, error)
    return (data if isinstance(data, dict) else None), None


def read_policy(config):
    path = ((config or {}).get("policy") or {}).get("path")
    if not path or ((config or {}).get("policy") or {}).get("mode", "file") != "file":
        return None, None
    try:
        with open(path) as policy:
            return json.load(policy), path
    except (IOError, OSError, ValueError):
        return None, path


def unit_facts(module, unit):
    """The unit's exposure (systemd-analyze security, the running unit with its drop-ins) and the drop-ins."""
    facts = dict(exposure=None, drop_ins=[])
    analyze = module.get_bin_path("systemd-analyze")
    systemctl = module.get_bin_path("systemctl")
    if analyze:
        rc, out, err = module.run_command([analyze, "security", "--no-pager", unit], environ_update=dict(LC_ALL="C"))
        match = _EXPOSURE_RE.search(out or "")
        if rc == 0 and match:
            facts["exposure"] = float(match.group(1))
    if systemctl:
        rc, out, err = module.run_command([systemctl, "show", "--property=DropInPaths", "--value", unit])
        if rc == 0:
            facts["drop_ins"] = [p for p in (out or "").split() if not p.startswith("/run/systemd/")]
    return facts


def journal(module, selector, since_seconds):
    journalctl = module.get_bin_path("journalctl")
    if not journalctl:
        return []
    rc, out, err = module.run_command([journalctl, selector, "--since=@%d" % int(since_seconds), "--output=json", "--no-pager"])
    return journal_entries(out) if rc == 0 else []


def registration_facts(module, unit, now_seconds):
    """Pending interactive registrations (module_utils/registrations.py) and the registration watch's
    requests and burst warnings of the last 24 h (journalctl -t tailnet-headscale)."""
    audit_entries = journal(module, "--identifier=" + AUDIT_IDENTIFIER, now_seconds - 86400)
    recent = journal(module, "--unit=" + unit, now_seconds - REGISTRATION_LIFETIME - 60)
    pending = pending_registrations(recent, audit_entries, now_seconds)
    for entry in pending:
        entry["first_seen"] = _utc(entry["first_seen"])
    requests, bursts = registration_events(audit_entries, now_seconds)
    return dict(pending=pending, requests=requests, bursts=bursts)


def backup_facts(directory):
    """The newest complete backup in DIRECTORY (the server role's headscale_backup_dir): by modification time,
    .partial ones left out."""
    if not os.path.isdir(directory):
        return dict(dir=directory, newest=None, count=0)
    backups = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith(".partial") or not os.path.isdir(path):
            continue
        backups.append((os.stat(path).st_mtime, path))
    if not backups:
        return dict(dir=directory, newest=None, count=0)
    mtime, path = max(backups)
    return dict(dir=directory, newest=dict(path=path, time=_utc(mtime)), count=len(backups))


def tls_facts(module, path):
    """notAfter of the certificate at PATH (openssl); None when there is no such file (no proxy here)."""
    if not path or not os.path.exists(path):
        return None
    openssl = module.get_bin_path("openssl")
    if not openssl:
        return dict(path=path, not_after=None, error="openssl not found")
    rc, out, err = module.run_command([openssl, "x509", "-noout", "-enddate", "-in", path], environ_update=dict(LC_ALL="C"))
    if rc != 0 or "=" not in out:
        return dict(path=path, not_after=None, error=(err or out).strip())
    text = re.sub(r"\s+", " ", out.split("=", 1)[1].strip())
    when = datetime.datetime.strptime(text.replace(" GMT", ""), "%b %d %H:%M:%S %Y")
    return dict(path=path, not_after=when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def collect(module, client, params):
    """Every fact the checks read. PARAMS: the audit module's options."""
    warnings = []
    now_seconds = time.time()
    facts = dict(now=_utc(now_seconds), quarantine_tag=params.get("quarantine_tag") or None,
                 pinned_version=params.get("pinned_version") or None, config_path=client.config)
    timings = {}
    mark = [time.time()]

    def took(phase):
        timings[phase] = round(time.time() - mark[0], 3)
        mark[0] = time.time()

    facts["version"] = client.version_string
    facts["nodes"] = client.nodes()
    facts["preauth_keys"] = client.preauth_keys()
    took("headscale")
    config = params.get("config_data")
    if config is None:
        config, why = read_config(client.config)
        if why:
            warnings.append(why)
    facts["config"] = config
    facts["policy"], facts["policy_path"] = read_policy(config)
    facts["node_expiry_seconds"] = configured_node_expiry(client.config)
    try:
        facts["key_ledger"] = (read_private_json(params["ledger_file"]) or {}).get("nodes", {})
    except (IOError, OSError, ValueError):
        facts["key_ledger"] = {}
    socket = (config or {}).get("unix_socket")
    socket_info = file_info(socket) if socket else dict(exists=False)
    facts["socket_mode"] = socket_info["mode"] if socket_info.get("exists") else None
    config_dir = os.path.dirname(client.config)
    state_dir = os.path.dirname(((config or {}).get("noise") or {}).get("private_key_path") or "/var/lib/headscale/x")
    paths = dict(
        config_dir=config_dir, config=client.config, policy=facts["policy_path"], state_dir=state_dir,
        database=(((config or {}).get("database") or {}).get("sqlite") or {}).get("path"),
        noise_private_key=((config or {}).get("noise") or {}).get("private_key_path"),
        derp_private_key=(((config or {}).get("derp") or {}).get("server") or {}).get("private_key_path"),
        backup_dir=params["backup_dir"])
    facts["files"] = dict((name, file_info(path)) for name, path in paths.items() if path)
    took("config_and_files")
    # The server role's record of its last full run (roles/server, read-state.sh), next to the config.
    facts["managed_files"] = managed_files(os.path.join(config_dir, ".tailnet-headscale-converged"))
    took("managed_files")
    facts["unit"] = unit_facts(module, params["unit"]) if params["unit"] else {}
    took("unit")
    facts["registrations"] = registration_facts(module, params["unit"] or "headscale.service", now_seconds)
    took("journal")
    facts["backups"] = backup_facts(params["backup_dir"]) if params["backup_dir"] else None
    facts["tls"] = tls_facts(module, params["tls_certificate"])
    took("backups_and_tls")
    facts["timings"] = timings
    facts["collected_at"] = iso(datetime.datetime.fromtimestamp(now_seconds, datetime.timezone.utc))
    return facts, warnings
