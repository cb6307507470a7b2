#!/usr/bin/env bash
# The collection as users get it: build the Galaxy tarball, check what it
# carries, install it into an empty collections path, and from there (nothing
# from this checkout) run site.yml (server and proxy roles) against a
# throwaway systemd container and a module against the headscale it deployed.
# Run through `make galaxy` (it sets the env).
. "$(dirname "$0")/lib.sh"

name=tailnet-headscale-galaxy
image="${TAILNET_IMAGE_BOOKWORM:?run through make galaxy}"
work="$(mktemp -d)"
throwaway_container "$name" "$work"
start="$(date +%s)"

cd "$REPO_ROOT" || exit 1
ansible-galaxy collection build --output-path "$work" >/dev/null
tarball="$(ls "$work"/tailnet-headscale-*.tar.gz)"
log "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

tar -tzf "$tarball" > "$work/contents"
for wanted in MANIFEST.json plugins/modules/node.py plugins/module_utils/headscale.py roles/server/tasks/main.yml \
              roles/proxy/tasks/main.yml roles/client/tasks/main.yml playbooks/site.yml meta/runtime.yml CHANGELOG.rst; do
  grep -qx "$wanted" "$work/contents" || die "$wanted is missing from the tarball"
done
if grep -E '^(molecule|tests|scripts|bench|lab|\.venv|\.collections|\.ci|changelogs/fragments)(/|$)' "$work/contents"; then
  die "the tarball carries test-bed files (above): fix build_ignore in galaxy.yml"
fi
# Whatever git ignores is local state (logs, venvs, results), often written by another lane while
# the build reads it: in the tarball it is a leak and a checksum race. MANIFEST.json and FILES.json
# are the build's own.
grep -v '/$' "$work/contents" | grep -vx -e MANIFEST.json -e FILES.json \
  | git check-ignore --no-index --stdin > "$work/ignored" || true
if [ -s "$work/ignored" ]; then
  cat "$work/ignored" >&2
  die "the tarball carries files git ignores (above): add them to build_ignore in galaxy.yml"
fi

export ANSIBLE_COLLECTIONS_PATH="$work/collections"
ansible-galaxy collection install --offline "$tarball" -p "$ANSIBLE_COLLECTIONS_PATH" >/dev/null
installed="$(ansible-galaxy collection list tailnet.headscale 2>/dev/null | sed -n 's/^# //p')"
[ "$installed" = "$ANSIBLE_COLLECTIONS_PATH/ansible_collections" ] \
  || die "tailnet.headscale resolves to '$installed', not the installed tarball"

run_systemd_container "$name" "$image" --hostname headscale-galaxy --network none
sed "s/tailnet-headscale-demo:/$name:/" lab/inventory.yml > "$work/inventory.yml"

# From outside the checkout, so nothing but the installed collection is found.
cd "$work" || exit 1
ansible-playbook -i inventory.yml tailnet.headscale.site > site.log 2>&1 \
  || { tail -n 40 site.log >&2; die "site.yml from the installed collection failed"; }
docker exec "$name" systemctl is-active --quiet headscale.service nginx.service \
  || die "headscale or nginx is not running after site.yml"
# This is also the proxy role's run on Debian 12 (molecule security attacks it on Debian 13):
# a second run changes nothing, and nginx serves TLS 1.3 only, verified against the lab CA.
ansible-playbook -i inventory.yml tailnet.headscale.site > rerun.log 2>&1 \
  || { tail -n 40 rerun.log >&2; die "the second site.yml run failed"; }
grep -Eq "^$name +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0" rerun.log \
  || { grep -B2 -A12 "^changed:" rerun.log | tail -n 60 >&2; die "the second site.yml run changed something (above)"; }
tls() {  # VERSION_FLAG: openssl s_client against the proxy on loopback, with the lab CA
  docker exec "$name" sh -c "openssl s_client -connect 127.0.0.1:443 -servername headscale.lab.test $1 \
    -CAfile /etc/nginx/tailnet-headscale/lab-ca.crt -verify_return_error </dev/null 2>&1"
}
tls -tls1_2 >/dev/null && die "nginx accepted TLS 1.2"
# (Into a variable first: grep -q in a pipe would end docker exec early, and pipefail fail the check.)
tls13="$(tls -tls1_3)" || true
grep -q "Verify return code: 0 (ok)" <<<"$tls13" \
  || { tail -n 30 <<<"$tls13" >&2; die "nginx did not serve TLS 1.3 with a certificate the lab CA verifies (above)"; }
headers="$(docker exec "$name" curl -fsS --cacert /etc/nginx/tailnet-headscale/lab-ca.crt \
  --resolve headscale.lab.test:443:127.0.0.1 -D - -o /dev/null https://headscale.lab.test/health)" \
  || die "https://headscale.lab.test/health did not answer through the proxy"
grep -qi "^strict-transport-security: max-age=" <<<"$headers" || die "no HSTS header through the proxy: $headers"

user_module() {
  ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=ansible.builtin.json \
    ansible -i inventory.yml "$name" -m tailnet.headscale.user -a name=galaxy-check \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["plays"][0]["tasks"][0]["hosts"]; r=list(r.values())[0]; print("failed" if r.get("failed") else r["changed"])'
}
[ "$(user_module)" = "True" ] || die "tailnet.headscale.user from the installed collection did not create the user"
[ "$(user_module)" = "False" ] || die "tailnet.headscale.user from the installed collection is not idempotent"
docker exec "$name" headscale users list | grep -q galaxy-check || die "the user is not on the server"

log "galaxy tarball: built, installed, site.yml (twice: no change, TLS 1.3 only) and tailnet.headscale.user ran from it ($(( $(date +%s) - start )) s)"
