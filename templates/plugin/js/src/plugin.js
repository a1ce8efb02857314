// A kiln plugin in JavaScript: sets the label `team` on every resource from `with:`.
export function info() {
  return { name: '{{name}}', version: '0.1.0', description: 'Sets the label `team` from `with:`' };
}

export function render(request) {
  const team = JSON.parse(request.config || '{}').team;
  if (typeof team !== 'string') {
    throw { kind: 'bad-config', message: 'missing config key `team`', hint: 'give the step `with: {team: NAME}`' };
  }
  const resources = request.resources.map((text) => {
    const doc = JSON.parse(text);
    doc.metadata ??= {};
    doc.metadata.labels = { ...doc.metadata.labels, team };
    return JSON.stringify(doc);
  });
  return { resources, diagnostics: [] };
}
