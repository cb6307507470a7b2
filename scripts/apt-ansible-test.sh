#!/usr/bin/env bash
# What a user on Debian 12's apt ansible (ansible-core 2.14, older than the
# collection's requires_ansible) sees: a Debian 12 container with apt's
# ansible-core installs the collection's tarball and runs the site playbook
# against itself (connection local; the roles refuse before they change
# anything). The output must hold every line docs/quick-start.md quotes in the
# text block after <!-- apt-ansible -->, "..." standing for elided text.
. "$(dirname "$0")/lib.sh"

# Bump when the package list changes. python3-cffi-backend: debootstrap does not
# resolve the virtual package python3-cryptography depends on.
image="tailnet-headscale/debian-ansible:bookworm-r1"
debian_image "$image" bookworm python3,python3-cffi-backend,ansible-core,ca-certificates /bin/bash

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --output-path "$work" "$REPO_ROOT" >/dev/null
cat >"$work/inventory.yml" <<'YAML'
all:
  children:
    headscale:
      hosts:
        hs1.example.com:
          ansible_connection: local
      vars:
        headscale_server_url: https://headscale.example.com
YAML
# The run must fail: its output is what the docs quote.
docker run --rm --network none -v "$work:$work:ro" -w /root "$image" bash -c \
  "ansible --version && ansible-galaxy collection install $work/tailnet-headscale-*.tar.gz \
   && ! ansible-playbook -i $work/inventory.yml tailnet.headscale.site" >"$work/out.txt" 2>&1 \
  || { cat "$work/out.txt" >&2; die "the site playbook did not fail on Debian 12's apt ansible-core"; }
python3 - "$REPO_ROOT/docs/quick-start.md" "$work/out.txt" <<'PY'
import re, sys
doc, out = (open(p).read() for p in sys.argv[1:])
block = re.search(r"<!-- apt-ansible -->\s*```text\n(.*?)```", doc, re.S)
if not block:
    sys.exit("docs/quick-start.md: no ```text block after <!-- apt-ansible -->")
flat = " ".join(out.split())
missing = [part for line in block.group(1).splitlines() for part in line.split("...")
           if part.strip(" ,{}") and " ".join(part.strip(" ,{}").split()) not in flat]
print(re.search(r"^ansible \[core [^]]*\]", out, re.M).group(0))
for part in missing:
    print("not in the output: %s" % part.strip())
if missing:
    print("---\n" + out)
    sys.exit(1)
print("docs/quick-start.md quotes what Debian 12's apt ansible-core prints")
PY
