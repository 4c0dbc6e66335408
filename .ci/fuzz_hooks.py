"""schemathesis hooks for .ci/fuzz: template archives go on the wire as
the bytes generated for them."""

import schemathesis

schemathesis.serializer.alias(["application/x-tar", "application/zip"], "application/octet-stream")
