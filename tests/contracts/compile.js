// Compile tests/contracts/*.sol with solc's JS API (standard JSON) into one artifacts
// file: {ContractName: {abi, bytecode}}. Usage: node compile.js [OUT.json]
// (default: src/hedgebot/devnet/artifacts.json, the one committed copy).
// solc comes from the project's npm install (node_tools/), or SOLC_MODULE.
const fs = require('fs');
const path = require('path');

const solcPath = process.env.SOLC_MODULE || path.resolve(__dirname, '../../node_tools/node_modules/solc');
const solc = require(solcPath);
const out = process.argv[2] || path.resolve(__dirname, '../../src/hedgebot/devnet/artifacts.json');

const sources = {};
for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.sol')).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(__dirname, file), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
(output.errors || []).forEach((e) => console.error(e.formattedMessage));
if (errors.length) process.exit(1);

const artifacts = { compiler: solc.version() };
for (const file of Object.keys(output.contracts).sort()) {
  for (const [name, c] of Object.entries(output.contracts[file]).sort()) {
    artifacts[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  }
}
fs.writeFileSync(out, JSON.stringify(artifacts, null, 1) + '\n');
console.error(`solc ${solc.version()} compiled ${Object.keys(artifacts).filter((k) => k !== 'compiler').join(', ')}`);
