// Runs one staged task under azure-pipelines-task-lib's own MockTestRunner,
// with nothing mocked: the task's real entry, the real task-lib, the real
// trainyard binary. The Rust tests (tests/it/azure_devops.rs) call it:
//
//   node test/mock-run.js TASK_DIR       inputs: TRAINYARD_TASK_INPUTS (a JSON object)
//
// Prints one JSON line: { succeeded, stdout, stderr, errors, warnings }.
// MockTestRunner runs the task with the Node its task.json asks for from
// $HOME/azure-pipelines-task-lib/_download (the caller seeds it: no download).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { MockTestRunner } = require('azure-pipelines-task-lib/mock-test');

async function main() {
  const taskDir = path.resolve(process.argv[2]);
  const inputs = JSON.parse(process.env.TRAINYARD_TASK_INPUTS || '{}');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-task-'));
  const testFile = path.join(scratch, 'run.js');
  fs.writeFileSync(testFile, `
const { TaskMockRunner } = require(${JSON.stringify(require.resolve('azure-pipelines-task-lib/mock-run'))});
const runner = new TaskMockRunner(${JSON.stringify(path.join(taskDir, 'index.js'))});
for (const [name, value] of Object.entries(${JSON.stringify(inputs)})) runner.setInput(name, value);
runner.run(true); // true: the real task-lib, nothing mocked
`);
  const runner = new MockTestRunner(testFile, path.join(taskDir, 'task.json'));
  // The agent runs Node24 when it has it, else Node20_1; this machine's Node is 20.
  await runner.runAsync(20);
  fs.rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({
    succeeded: runner.succeeded,
    stdout: runner.stdout,
    stderr: runner.stderr,
    errors: runner.errorIssues,
    warnings: runner.warningIssues,
  }) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
