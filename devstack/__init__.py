"""The local stack: the whole product on one machine (`python -m devstack`, DESIGN section 10).

Embedded AWS (moto server in-process), the Chalice app served by chalice's local server, the scheduled jobs on their
schedule, a local token issuer and the developer routes under `/_dev`. Only this runner adds those routes; the deployed
app has none of them. Importing this package is cheap: the heavy parts load when `devstack.server.start()` runs.
"""
