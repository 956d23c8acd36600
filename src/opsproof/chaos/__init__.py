"""Chaos experiments: faults injected on inventory hosts over SSH, the steady state watched
through nginx, every acknowledged write audited in the database.

Modules by concern: `context` (which hosts, refusal rules, SSH), `steady` (the hypothesis and
the recovery wait), `load` (the background monitor and the lost-write writer), `timings`
(time to detect / recover from a probe series), `faults_*` (the actions and their rollbacks),
`restore` (the safety net run after every experiment), `report` and `runner` (`opsproof chaos`).
"""
