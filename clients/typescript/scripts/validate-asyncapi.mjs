// Validates AsyncAPI documents with @asyncapi/parser and the protobuf
// schema parser, which parses every inlined .proto payload: node
// scripts/validate-asyncapi.mjs <dir or file>... Exits 1 on any error;
// warnings are printed.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";
import { ProtoBuffSchemaParser } from "@asyncapi/protobuf-schema-parser";

const parser = new Parser();
parser.registerSchemaParser(ProtoBuffSchemaParser());

const files = process.argv.slice(2).flatMap((arg) =>
  statSync(arg).isDirectory()
    ? readdirSync(arg).filter((f) => f.endsWith(".yaml")).sort().map((f) => join(arg, f))
    : [arg],
);
if (files.length === 0) {
  console.error("validate-asyncapi: no .yaml documents given");
  process.exit(1);
}
let failed = false;
for (const file of files) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: file });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    const level = d.severity === DiagnosticSeverity.Error ? "error" : "warning";
    console.log(`${file}: ${level}: ${d.message} at /${d.path.join("/")}`);
  }
  if (document === undefined || errors.length > 0) {
    failed = true;
    console.log(`${file}: INVALID`);
    continue;
  }
  const messages = document.allMessages().all().map((m) => {
    const fields = Object.keys(m.payload()?.properties() ?? {});
    return `${m.name() ?? m.id()}(${fields.join(" ")})`;
  });
  console.log(`${file}: valid AsyncAPI ${document.version()}: ${document.channels().length} channels, ${document.operations().length} operations, messages ${messages.join(", ")}`);
}
process.exit(failed ? 1 : 0);
