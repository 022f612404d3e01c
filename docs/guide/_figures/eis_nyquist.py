import ncmsurf as ns
from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

# a fresh and a cycled cell of 1.131 cm2: data as points, the fitted circuit as lines, in ohm cm2
items = {}
for label, scale in (("A(3)-NCM", 1.0), ("A(3)-NCM@100", 2.5)):
    truth = {**NCM_TRUTH, "R1": NCM_TRUTH["R1"] * scale, "R2": NCM_TRUTH["R2"] * scale}
    spec = synthetic_spectrum("ncm", truth, noise=0.005, seed=int(scale), area=1.131, sample=label)
    items[label] = (spec, ns.eis.fit(spec, "ncm"))
fig = ns.figures.nyquist(items)
