// The Orch extension: starts `orchc lsp` (the language server) for `.orch`
// files. Plain JavaScript, no build step; the grammar and the language
// configuration are declared in package.json.

'use strict';

const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** The `orchc` executable from `orch.server.path`: a name looked up on
 * `PATH`, an absolute path, `~/...`, or a path relative to the first
 * workspace folder. */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration('orch').get('server.path');
  const command = typeof configured === 'string' && configured.trim() ? configured.trim() : 'orchc';
  if (command === '~' || command.startsWith('~/')) {
    return path.join(os.homedir(), command.slice(1));
  }
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (!path.isAbsolute(command) && command.includes('/') && folder) {
    return path.join(folder.uri.fsPath, command);
  }
  return command;
}

async function start() {
  const command = serverCommand();
  // The server speaks over standard input and output (`orchc lsp`).
  const run = { command, args: ['lsp'] };
  const serverOptions = { run, debug: run };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'orch' },
      { scheme: 'untitled', language: 'orch' },
    ],
  };
  client = new LanguageClient('orch', 'Orch Language Server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message = error instanceof Error ? error.message : String(error);
    const choice = await vscode.window.showErrorMessage(
      `Cannot start the Orch language server (\`${command} lsp\`): ${message}. ` +
        'Install orchc (`cargo install --path cli`) or set `orch.server.path`.',
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'orch.server.path');
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function restart() {
  await stop();
  await start();
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('orch.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('orch.server.path')) {
        restart();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
