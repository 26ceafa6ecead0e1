"""Customer lifetime value: BG/NBD for repeat purchasing, Gamma-Gamma for spend (analytics.clv).

summary.py turns orders into each buyer's (x, t_x, T, monetary); bgnbd.py and gamma_gamma.py fit
the two models by maximum likelihood and predict; service.py fits, scores and stores; holdout.py
checks the fit against what happened after the calibration end.
"""
