"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in
its sanity virtualenvs. Its host is not reachable from the test machines, so
bootstrap pip from the interpreter's bundled wheel (ensurepip) and install what
ansible-test asked for (e.g. pip==24.2) from PyPI."""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call(
    [sys.executable, "-m", "pip", "install"] + [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_FLAGS]
)
