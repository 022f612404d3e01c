import ncmsurf as ns
from ncmsurf.datasets.cycling import synthetic_record

# a rate ladder then long-term cycling at 0.5C; capacities in mAh/g, C-rates as people write them
ladder = [(0.1, 3), (0.2, 3), (0.5, 3), (1, 3), (2, 3), (5, 3)]
cells = {label: synthetic_record(n_cycles=80, rate_ladder=ladder, c_rate=0.5, seed=k,
                                 fade={"model": "linear", "a": 0.2 * (k + 1)})
         for k, label in enumerate(("A(1)-NCM", "F(1)-NCM"))}
fig = ns.figures.rate_eis_cycling(cells)
