"""A script-mode job that checkpoints every 5 of its 40 steps and resumes from the last sealed checkpoint."""

import os
import time

from loopml.train import sdk
from loopml.train.checkpoints import CheckpointStore

store = CheckpointStore(os.environ["SM_CHECKPOINT_DIR"], os.environ.get("LOOPML_RUN_ID"))
store.clean()
found = store.latest()
start = int(found.data.decode()) if found else 0
print(f"resuming from step {start}", flush=True)
for step in range(start, 40):
    time.sleep(float(os.environ.get("STEP_SECONDS", "0.25")))
    if (step + 1) % 5 == 0:
        store.save(step + 1, str(step + 1).encode())
    sdk.log_metric("global_step", step + 1, step=step)
    sdk.flush()
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as fh:
    fh.write(f"trained to step 40 on {os.environ.get('SM_CURRENT_HOST')}")
