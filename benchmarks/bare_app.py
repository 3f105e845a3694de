"""The reference for benchmarks/serve.py: a bare FastAPI endpoint on uvicorn that reads the request
body and returns a fixed answer (no model, no parsing, no checks): the HTTP stack's own limit.

Usage: python benchmarks/bare_app.py PORT  (prints one JSON line {"url": ...} once listening)
"""

import json
import sys

import uvicorn
from fastapi import FastAPI, Request, Response

ANSWER = json.dumps({"predictions": [{"label": {"label": "0", "confidence": 1.0}}]}).encode()
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/v1/models/{name}:predict")
async def predict(request: Request, name: str):
    await request.body()
    return Response(ANSWER, media_type="application/json")


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(json.dumps({"url": f"http://127.0.0.1:{port}/v1/models/bare", "metrics": None}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
