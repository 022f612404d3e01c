import ncmsurf as ns
from ncmsurf.datasets.cycling import synthetic_record

# dQ/dV of the first charge: the H1->M, M->H2 and H2->H3 transitions of Ni-rich NCM
fig = ns.figures.dqdv({"P-NCM": synthetic_record(n_cycles=3, seed=1)}, cycle=1)
