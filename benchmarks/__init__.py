"""sesclient's performance suite: ``python -m benchmarks`` (``--help`` for options).

It measures sesclient next to the alternatives in one run (boto3, aiobotocore,
capo, raw httpx and raw aiohttp as floors) against the local SES endpoint in
its own process, and writes a markdown report, a JSON record and a chart to
``benchmarks/results/``.  Importing this package does nothing.
"""
