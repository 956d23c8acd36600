"""`opsproof dashboard`: the key graphs for people, one HTML page with inline SVG.

`query` reads Prometheus's HTTP API (query_range), `panels` says which graphs and their
PromQL, `page` draws them (no JavaScript, nothing fetched from elsewhere), `cli` ties them
to the inventory's Prometheus and writes reports/dashboard/<date>/index.html.
"""
