"""The monthly inspection (巡检): catalogued checks run on the live hosts, evaluated, recorded."""
