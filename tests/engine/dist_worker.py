"""One rank of a test run: the real CLI, plus a dump of this rank's trained parameters.

Run as ``python dist_worker.py DUMP_DIR CLI-ARGS...`` under the launcher's environment. Every
rank gets its own home folder and working folder, and ranks other than 0 their own ``--out``
(``OUT_rankN``), so a test can see that those stay empty: rank 1 must write nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    dump = Path(sys.argv[1])
    rank = int(os.environ.get("RANK", "0"))
    args = sys.argv[2:]
    if rank:
        args = [f"{a}_rank{rank}" if i and args[i - 1] == "--out" else a
                for i, a in enumerate(args)]
    cwd = dump / f"cwd_rank{rank}"
    cwd.mkdir(parents=True, exist_ok=True)
    os.chdir(cwd)
    os.environ["AIGC_STUDIO_HOME"] = str(dump / f"home_rank{rank}")

    import torch

    from aigc_studio import cli
    from aigc_studio.engine.trainer import Trainer

    fit = Trainer.fit

    def fit_and_dump(self: Trainer):  # type: ignore[no-untyped-def]
        end = fit(self)
        params = {f"{key}.{name}": p.detach().clone()
                  for key, net in self.models.nets.items()
                  for name, p in net.named_parameters()}
        torch.save(params, dump / f"params_rank{rank}.pt")
        return end

    Trainer.fit = fit_and_dump  # type: ignore[method-assign]
    sys.exit(cli.main(args))
