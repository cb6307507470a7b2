"""The two headscale versions the scenarios move between, as role variables:
PREVIOUS (the previous supported minor, what an upgrade starts from) and PINNED
(the collection's pinned version), each with its binary and checksum, from the
test bed's environment (scripts/testbed-env.sh)."""

import os

PREVIOUS = dict(headscale_version=os.environ["TAILNET_HEADSCALE_PREVIOUS_VERSION"],
                headscale_binary_src=os.environ["TAILNET_HEADSCALE_PREVIOUS_BINARY"],
                headscale_binary_sha256=os.environ["TAILNET_HEADSCALE_PREVIOUS_BINARY_SHA256"])
PINNED = dict(headscale_version=os.environ["TAILNET_HEADSCALE_VERSION"],
              headscale_binary_src=os.environ["TAILNET_HEADSCALE_BINARY"],
              headscale_binary_sha256=os.environ["TAILNET_HEADSCALE_BINARY_SHA256"])
