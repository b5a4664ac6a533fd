// The one entry of every trainyard task (each task folder gets a copy of the
// compiled file at packaging time). It finds or installs the trainyard binary,
// runs it with the task's inputs as INPUT_* variables and reports its exit
// code as the task's result. Behaviour lives in the binary, not here.
//
// A task folder holds, beside this file:
//   task.json        the inputs (names: the binary's option variables in camelCase)
//   command.json     the trainyard command the task runs, and the inputs that
//                    are arguments instead of INPUT_* variables (see CommandSpec)
//   binaries.sha256  the release archives and their sha256: a copy of
//                    action/binaries.sha256, the one pin list

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tl from 'azure-pipelines-task-lib/task';
import * as toolLib from 'azure-pipelines-tool-lib/tool';

/** The inputs the entry itself reads; they never reach the binary. */
const INSTALL_INPUTS = ['trainyardPath', 'trainyardVersion', 'trainyardDownloadUrl', 'workingDirectory'];

const DEFAULT_DOWNLOAD_URL = 'https://github.com/trainyard/trainyard/releases/download';

interface TaskInput {
    name: string;
    type: string;
}

/** command.json */
interface CommandSpec {
    /** The words after `trainyard`; `{name}` is the value of the input `name`. */
    command: string[];
    /** Inputs the binary takes as arguments: `"positional"` (split on
     *  whitespace and commas) or a flag given once per line (`"--param"`). */
    arguments?: Record<string, string>;
}

/** `reportsDir` -> `INPUT_REPORTS_DIR`: the variable trainyard reads for the
 *  option `--reports-dir` (trainyard_ci::input_variables). */
export function inputVariable(name: string): string {
    return 'INPUT_' + name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The Rust target of the release archive for this agent, or undefined. */
export function releaseTarget(platform: string, arch: string): string | undefined {
    const targets: Record<string, string> = {
        'linux/x64': 'x86_64-unknown-linux-musl',
        'linux/arm64': 'aarch64-unknown-linux-musl',
        'darwin/x64': 'x86_64-apple-darwin',
        'darwin/arm64': 'aarch64-apple-darwin',
        'win32/x64': 'x86_64-pc-windows-msvc',
        'win32/arm64': 'aarch64-pc-windows-msvc',
    };
    return targets[`${platform}/${arch}`];
}

/** The pin list: its `# version:` and each archive's sha256 (sha256sum format). */
export function readPins(text: string): { version?: string; sha256: Map<string, string> } {
    const sha256 = new Map<string, string>();
    let version: string | undefined;
    for (const line of text.split(/\r?\n/)) {
        const pinned = /^#\s*version:\s*(\S+)/.exec(line);
        if (pinned && version === undefined) {
            version = pinned[1];
            continue;
        }
        const entry = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line);
        if (entry) {
            sha256.set(entry[2], entry[1].toLowerCase());
        }
    }
    return { version, sha256 };
}

function fail(message: string): never {
    throw new Error(message);
}

/** The binary: the `trainyardPath` input, else trainyard on PATH, else the
 *  tool cache, else the pinned release archive (downloaded, checked, cached). */
async function locateTrainyard(): Promise<string> {
    const exe = process.platform === 'win32' ? 'trainyard.exe' : 'trainyard';
    const given = tl.getInput('trainyardPath');
    if (given) {
        const file = fs.existsSync(given) && fs.statSync(given).isDirectory() ? path.join(given, exe) : given;
        if (!fs.existsSync(file)) {
            fail(`trainyardPath: ${file} does not exist`);
        }
        return file;
    }
    const onPath = tl.which('trainyard', false);
    if (onPath) {
        console.log(`trainyard on PATH: ${onPath}`);
        return onPath;
    }

    const pins = readPins(fs.readFileSync(path.join(__dirname, 'binaries.sha256'), 'utf8'));
    const version = (tl.getInput('trainyardVersion') || pins.version || fail('binaries.sha256 names no version')).replace(/^v/, '');
    const target = releaseTarget(process.platform, os.arch())
        ?? fail(`no trainyard build for ${process.platform}/${os.arch()}; install trainyard on PATH or set trainyardPath`);
    const cached = toolLib.findLocalTool('trainyard', version, target);
    if (cached) {
        console.log(`trainyard ${version} from the tool cache`);
        toolLib.prependPath(cached);
        return path.join(cached, exe);
    }

    const archive = `trainyard-v${version}-${target}.tar.gz`;
    const expected = pins.sha256.get(archive)
        ?? fail(`no release archive of trainyard ${version} is pinned for ${target} (binaries.sha256); install trainyard on PATH or set trainyardPath`);
    const base = (tl.getInput('trainyardDownloadUrl') || DEFAULT_DOWNLOAD_URL).replace(/\/+$/, '');
    const url = `${base}/v${version}/${archive}`;
    console.log(`downloading ${url}`);
    const downloaded = await toolLib.downloadToolWithRetries(url);
    let extracted: string;
    try {
        const actual = crypto.createHash('sha256').update(fs.readFileSync(downloaded)).digest('hex');
        if (actual !== expected) {
            fail(`${archive} has sha256 ${actual}, but binaries.sha256 pins ${expected}; not installing it`);
        }
        extracted = await toolLib.extractTar(downloaded);
    } finally {
        fs.rmSync(downloaded, { force: true });
    }
    if (!fs.existsSync(path.join(extracted, exe))) {
        fail(`${archive} holds no ${exe}`);
    }
    const installed = await toolLib.cacheDir(extracted, 'trainyard', version, target);
    toolLib.prependPath(installed);
    console.log(`trainyard ${version} installed in ${installed}`);
    return path.join(installed, exe);
}

/** The command line and the INPUT_* variables for this task's inputs. */
export function invocation(inputs: TaskInput[], spec: CommandSpec, value: (input: TaskInput) => string | undefined):
    { args: string[]; env: Record<string, string> } {
    const values = new Map<string, string>();
    for (const input of inputs) {
        const given = value(input);
        if (given !== undefined && given !== '') {
            values.set(input.name, given);
        }
    }
    const args = spec.command.map((word) => word.replace(/^\{(\w+)\}$/, (_, name: string) =>
        values.get(name) ?? fail(`the input ${name} is required`)));
    const env: Record<string, string> = {};
    const consumed = new Set(spec.command.map((word) => /^\{(\w+)\}$/.exec(word)?.[1]).filter(Boolean));
    for (const [name, given] of values) {
        const kind = spec.arguments?.[name];
        if (kind === 'positional') {
            args.push(...given.split(/[\s,]+/).filter((word) => word !== ''));
        } else if (kind !== undefined) {
            for (const line of given.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')) {
                args.push(kind, line);
            }
        } else if (!consumed.has(name) && !INSTALL_INPUTS.includes(name)) {
            env[inputVariable(name)] = given;
        }
    }
    return { args, env };
}

async function main(): Promise<void> {
    const task = JSON.parse(fs.readFileSync(path.join(__dirname, 'task.json'), 'utf8'));
    const spec: CommandSpec = JSON.parse(fs.readFileSync(path.join(__dirname, 'command.json'), 'utf8'));
    const { args, env } = invocation(task.inputs ?? [], spec, (input) =>
        input.type === 'boolean' ? String(tl.getBoolInput(input.name)) : tl.getInput(input.name));
    const binary = await locateTrainyard();
    const cwd = tl.getInput('workingDirectory') || process.cwd();
    // task-lib moved the agent's INPUT_* variables out of process.env; the
    // binary gets exactly the ones computed above.
    const code = await tl.tool(binary).arg(args).exec({
        cwd,
        env: { ...process.env, ...env } as { [key: string]: string },
        ignoreReturnCode: true,
        failOnStdErr: false,
        silent: false,
        windowsVerbatimArguments: false,
    });
    if (code === 0) {
        tl.setResult(tl.TaskResult.Succeeded, 'trainyard passed');
    } else {
        // 1: a check or gate failed; 2: usage or configuration; 3: environment.
        tl.setResult(tl.TaskResult.Failed, `trainyard exited with ${code}`);
    }
    process.exitCode = code;
}

main().catch((error: Error) => {
    tl.setResult(tl.TaskResult.Failed, error.message);
    process.exitCode = 3;
});
