// Validates an OpenAPI document against the official schema of its version (3.0 or 3.1)
// with @seriousme/openapi-schema-validator; prints one JSON line {valid, version, errors}.
// usage: node validate.mjs FILE
import { Validator } from "@seriousme/openapi-schema-validator";

const validator = new Validator();
const result = await validator.validate(process.argv[2]);
console.log(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
process.exit(result.valid ? 0 : 1);
