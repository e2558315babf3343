/**
 * GET /api/v1/docs — the OpenAPI document rendered as one self-contained HTML page: no CDN
 * and no bundle (Wharf runs offline), the document embedded as JSON and drawn by a small
 * inline script (operations by tag; parameters, bodies and responses as TypeScript-like
 * shapes linking to the named schemas; examples). A strict CSP allows exactly that script and
 * style, by hash.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:16px 32px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
main{padding:8px 32px 64px;max-width:1100px}
h1{margin:0;font-size:22px}h2{margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
details.op{border:1px solid #d0d7de;border-radius:6px;margin:8px 0}
details.op>summary{cursor:pointer;padding:8px 12px;list-style:none;display:flex;gap:12px;align-items:baseline}
details.op[open]>summary{border-bottom:1px solid #d0d7de}
.body{padding:8px 16px}
.m{font:600 12px ui-monospace,monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.GET{background:#0969da}.POST{background:#1a7f37}.PUT{background:#9a6700}.PATCH{background:#8250df}.DELETE{background:#cf222e}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:8px;border-radius:6px;overflow:auto}
.path{font:14px ui-monospace,monospace}.sum{color:#57606a}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
.id{color:#57606a;font-size:12px}
`;

/* The renderer runs in the browser; it reads only the embedded document. */
const SCRIPT = `
(function(){
var doc = JSON.parse(document.getElementById('doc').textContent);
var schemas = (doc.components && doc.components.schemas) || {};
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function pad(d){return new Array(d+1).join('  ');}
function shape(s,d){
  if(s===undefined||s===true||s===null)return 'unknown';
  if(s===false)return 'never';
  if(s.$ref){var n=s.$ref.split('/').pop();return '<a href="#schema-'+esc(n)+'">'+esc(n)+'</a>';}
  if('const' in s)return esc(JSON.stringify(s.const));
  if(s.enum)return s.enum.map(function(v){return esc(JSON.stringify(v));}).join(' | ');
  var u=s.anyOf||s.oneOf;if(u)return u.map(function(x){return shape(x,d);}).join(' | ');
  if(s.allOf)return s.allOf.map(function(x){return shape(x,d);}).join(' &amp; ');
  var t=s.type;
  if(Array.isArray(t))return t.map(function(x){return shape(Object.assign({},s,{type:x}),d);}).join(' | ');
  if(t==='integer'||t==='number')return 'number';
  if(t==='string')return s.format?'string <span class="id">('+esc(s.format)+')</span>':'string';
  if(t==='boolean'||t==='null')return t;
  if(t==='array')return 'Array&lt;'+shape(s.items,d)+'&gt;';
  if(t==='object'){
    var p=s.properties||{},req=s.required||[],keys=Object.keys(p);
    if(!keys.length)return 'Record&lt;string, '+(s.additionalProperties&&s.additionalProperties!==true?shape(s.additionalProperties,d):'unknown')+'&gt;';
    return '{\\n'+keys.map(function(k){var q=p[k];return pad(d+1)+esc(k)+(req.indexOf(k)<0?'?':'')+': '+shape(q,d+1)+(q.description?'  <span class="id">// '+esc(q.description)+'</span>':'');}).join('\\n')+'\\n'+pad(d)+'}';
  }
  return 'unknown';
}
function block(title,schema,example){
  var h='<h4>'+esc(title)+'</h4><pre>'+shape(schema,0)+'</pre>';
  if(example!==undefined)h+='<p class="id">Example</p><pre>'+esc(JSON.stringify(example,null,2))+'</pre>';
  return h;
}
var byTag={};
Object.keys(doc.paths).forEach(function(path){Object.keys(doc.paths[path]).forEach(function(m){
  var op=doc.paths[path][m];(op.tags||['other']).slice(0,1).forEach(function(t){(byTag[t]=byTag[t]||[]).push({path:path,method:m.toUpperCase(),op:op});});
});});
var out=['<p>'+esc(doc.info.description||'')+'</p><p><a href="openapi.json">openapi.json</a></p>'];
Object.keys(byTag).sort().forEach(function(tag){
  out.push('<h2 id="tag-'+esc(tag)+'">'+esc(tag)+'</h2>');
  byTag[tag].forEach(function(e){
    var op=e.op,h='<details class="op" id="'+esc(op.operationId)+'"><summary><span class="m '+e.method+'">'+e.method+'</span><span class="path">'+esc(e.path)+'</span><span class="sum">'+esc(op.summary||'')+'</span></summary><div class="body">';
    h+='<p class="id">operationId <code>'+esc(op.operationId)+'</code>'+(op.tags.length>1?' · also '+op.tags.slice(1).map(esc).join(', '):'')+'</p>';
    if(op.description)h+='<p>'+esc(op.description)+'</p>';
    if(op.parameters&&op.parameters.length){h+='<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>'+op.parameters.map(function(p){return '<tr><td><code>'+esc(p.name)+'</code>'+(p.required?'':'?')+'</td><td>'+esc(p.in)+'</td><td><code>'+shape(p.schema,0)+'</code></td><td>'+esc(p.description||'')+'</td></tr>';}).join('')+'</table>';}
    if(op.requestBody){var c=op.requestBody.content['application/json'];h+=block('Request body',c.schema,c.example);}
    Object.keys(op.responses).forEach(function(st){var r=op.responses[st],c=r.content&&r.content['application/json'];h+=c?block(st+' '+r.description,c.schema,c.example):'<h4>'+esc(st)+' '+esc(r.description)+'</h4>';});
    out.push(h+'</div></details>');
  });
});
out.push('<h2>Schemas</h2>');
Object.keys(schemas).sort().forEach(function(n){out.push('<h3 id="schema-'+esc(n)+'">'+esc(n)+'</h3><pre>'+shape(schemas[n],0)+'</pre>');});
document.getElementById('app').innerHTML=out.join('');
if(location.hash){var el=document.getElementById(location.hash.slice(1));if(el){if(el.tagName==='DETAILS')el.open=true;el.scrollIntoView();}}
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The CSP of the page: its own inline script and style, nothing else. */
export const DOCS_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The page, with the document embedded (`<` escaped so the JSON cannot close its script element). */
export function docsPage(doc: unknown): string {
  const json = JSON.stringify(doc).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Wharf API</title><style>${STYLE}</style></head>
<body><header><h1>Wharf API <span class="id">v1 · OpenAPI 3.1</span></h1></header>
<main id="app"><noscript>This page draws the document with JavaScript; the document itself is <a href="openapi.json">openapi.json</a>.</noscript></main>
<script type="application/json" id="doc">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
