// A third-party MCP client (the official TypeScript SDK) driving the real server over stdio.
//
// It starts `ecs-reboot-diagnosis serve --simulator`, lists the tools, checks that a step called
// out of order is refused (isError), then runs a whole diagnosis by following each result's
// structuredContent.next_step from ecs_start_diagnosis to ecs_render_report, receiving progress
// notifications on ecs_run_guest_diagnostics, and checks the report's conclusion section.
// Prints one summary line; exits 1 on any failure.
//
//   node tests/clients/ts_diagnosis.mjs [/path/to/ecs-reboot-diagnosis]
//
// The command comes from the first argument, else $ECS_REBOOT_DIAGNOSIS, else PATH.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const COMMAND = process.argv[2] || process.env.ECS_REBOOT_DIAGNOSIS || "ecs-reboot-diagnosis";
const TARGET = { instance_id: "i-bp1sim0linux0000001", region_id: "cn-hangzhou" };
const EXPECTED_TOOLS = [
  "ecs_start_diagnosis",
  "ecs_check_platform_events",
  "ecs_check_cloud_assistant",
  "ecs_run_guest_diagnostics",
  "ecs_get_guest_results",
  "ecs_triage_crash_dumps",
  "ecs_recommend_dump_setup",
  "ecs_render_report",
  "ecs_get_diagnosis_status",
  "ecs_diagnose_instance",
  "ecs_collect_agentless_evidence",
];
const MAX_CALLS = 30; // a loop guard: the Linux path takes 8 calls
const CALL_OPTIONS = { timeout: 120_000, resetTimeoutOnProgress: true, maxTotalTimeout: 300_000 };

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function textOf(result) {
  return (result.content || []).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/proxy/i.test(key)) env[key] = value;
  }
  env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true";
  return env;
}

const stderrChunks = [];

async function main() {
  let protocolVersion = "?";
  const transport = new StdioClientTransport({
    command: COMMAND,
    args: ["serve", "--simulator"],
    env: childEnv(),
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk) => stderrChunks.push(chunk));
  const client = new Client({ name: "ts-diagnosis-check", version: "1.0.0" }, { capabilities: {} });
  const calls = [];
  try {
    const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
    transport.setProtocolVersion = (version) => {
      protocolVersion = version;
      setProtocolVersion?.(version);
    };
    await client.connect(transport);
    const server = client.getServerVersion();
    check(server?.name === "ecs-reboot-diagnosis", `unexpected server ${JSON.stringify(server)}`);

    const { tools } = await client.listTools();
    const names = new Set(tools.map((t) => t.name));
    const missing = EXPECTED_TOOLS.filter((n) => !names.has(n));
    check(missing.length === 0, `tools/list lacks ${missing.join(", ")}`);

    const call = async (name, args, extra = {}) => {
      calls.push(name);
      check(calls.length <= MAX_CALLS, `more than ${MAX_CALLS} calls: ${calls.join(" -> ")}`);
      return client.callTool({ name, arguments: args }, undefined, { ...CALL_OPTIONS, ...extra });
    };

    // step 1
    let result = await call("ecs_start_diagnosis", TARGET);
    check(!result.isError, `ecs_start_diagnosis failed: ${textOf(result)}`);
    const did = result.structuredContent?.diagnosis_id;
    check(/^d-[0-9a-f]{32}$/.test(did || ""), `no diagnosis_id in ${JSON.stringify(result)}`);

    // out of order: the report before any step ran is refused and names the step to call
    const refused = await call("ecs_render_report", { diagnosis_id: did });
    check(refused.isError === true, `out-of-order ecs_render_report was not refused: ${textOf(refused)}`);
    check(
      textOf(refused).includes("ecs_check_platform_events"),
      `the refusal does not name the next tool: ${textOf(refused)}`,
    );

    // follow next_step to the report
    const path = ["ecs_start_diagnosis"];
    const progress = [];
    let report = null;
    let reportBlocks = [];
    let pending = 0;
    while (report === null) {
      const next = result.structuredContent?.next_step;
      check(next && next.tool, `no next_step after ${path.at(-1)}: ${JSON.stringify(result.structuredContent)}`);
      check(names.has(next.tool), `next_step names an unknown tool ${next.tool}`);
      const args = { diagnosis_id: did, ...(next.arguments || {}) };
      check(args.diagnosis_id === did, `next_step carries another diagnosis_id: ${JSON.stringify(next)}`);
      // no sleep: the server waits for the collector on its side (a pending comes after that)
      const extra =
        next.tool === "ecs_run_guest_diagnostics"
          ? { onprogress: (p) => progress.push(p) }
          : {};
      result = await call(next.tool, args, extra);
      path.push(next.tool);
      check(!result.isError, `${next.tool} failed: ${textOf(result)}`);
      check(result.structuredContent, `${next.tool} returned no structuredContent`);
      if (result.structuredContent?.status === "pending") pending += 1;
      if (next.tool === "ecs_render_report") {
        report = result.structuredContent;
        reportBlocks = (result.content || []).filter((c) => c.type === "text").map((c) => c.text);
      }
    }

    check(path.includes("ecs_run_guest_diagnostics"), `the guest step never ran: ${path.join(" -> ")}`);
    check(progress.length > 0, "no progress notification arrived for ecs_run_guest_diagnostics");
    check(report.next_step === null, `the report still names a next step: ${JSON.stringify(report.next_step)}`);
    const markdown = report.report_markdown || "";
    check(markdown.includes("## Diagnostic Conclusion"), "the report has no '## Diagnostic Conclusion'");
    check(markdown.includes(TARGET.instance_id), "the report does not name the instance");
    check(reportBlocks.includes(markdown), "the report is not a Markdown text block of its own");
    check(pending <= 1, `${pending} pending answers: the server should wait for the collector`);

    // the workflow is finished: a finished step is refused now
    const again = await call("ecs_check_platform_events", { diagnosis_id: did });
    check(again.isError === true, "a step that already ran was not refused");

    const steps = path.length - 1;
    console.log(
      `ts-sdk client OK: ${names.size} tools, ${steps} steps ${path.join(" -> ")}, ` +
        `${progress.length} progress notifications, ${pending} pending, the report as a Markdown ` +
        `block, verdict=${report.verdict} rule=${report.rule_id}, ` +
        `out-of-order call refused (protocol ${protocolVersion}, server ${server.name} ${server.version})`,
    );
  } finally {
    await client.close().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    const kind = error instanceof CheckFailed ? "check failed" : "error";
    console.log(`ts-sdk client FAILED (${kind}): ${error?.message || error}`);
    const stderr = Buffer.concat(stderrChunks).toString("utf8").trim();
    if (stderr) console.error(`server stderr (last 2000 chars):\n${stderr.slice(-2000)}`);
    process.exit(1);
  },
);
