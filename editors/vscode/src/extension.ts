// The Canon extension: starts `canon lsp` over stdio for every `.canon` file
// and restarts it when `canon.path` changes. Highlighting comes from the
// TextMate grammar (syntaxes/canon.tmLanguage.json); once the server answers,
// its semantic tokens refine it (types, enum members, parameters, ...).

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

/** The `canon` binary to run: `canon.path`, with `~` and `${workspaceFolder}` expanded. */
function canonPath(): string {
  const configured = vscode.workspace.getConfiguration("canon").get<string>("path", "canon").trim();
  let path = configured === "" ? "canon" : configured;
  if (path.startsWith("~/")) {
    path = (process.env.HOME ?? process.env.USERPROFILE ?? "~") + path.slice(1);
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder !== undefined) {
    path = path.replace(/\$\{workspaceFolder\}/g, folder);
  }
  return path;
}

function createClient(): LanguageClient {
  const command = canonPath();
  const serverOptions: ServerOptions = {
    run: { command, args: ["lsp"], transport: TransportKind.stdio },
    debug: { command, args: ["lsp"], transport: TransportKind.stdio },
  };
  output ??= vscode.window.createOutputChannel("Canon");
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "canon" }],
    outputChannel: output,
    // The server registers its own watcher for **/*.canon when the client
    // allows dynamic registration (vscode-languageclient does).
  };
  // The id `canon` makes vscode-languageclient read `canon.trace.server`.
  return new LanguageClient("canon", "Canon", serverOptions, clientOptions);
}

async function start(): Promise<void> {
  client = createClient();
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const choice = await vscode.window.showErrorMessage(
      `Canon: could not start the language server with \`${canonPath()} lsp\` (${message}). ` +
        "Set `canon.path` to the canon binary.",
      "Open Settings",
    );
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "canon.path");
    }
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch {
      // A server that never started cannot be stopped; nothing to do.
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("canon.restartServer", async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("canon.path")) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
