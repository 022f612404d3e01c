import tempfile
from pathlib import Path

import ncmsurf as ns

# the impedance part of the demo study: R_SEI and R_ct against n for each route, fresh and cycled
folder = ns.datasets.demo_study(Path(tempfile.mkdtemp()) / "demo", kinds=["eis"])
study = ns.Study.from_folder(folder).analyze(progress=False)
fig = ns.figures.metrics_vs_n(study, ["r_sei", "r_ct", "c_sei"])
