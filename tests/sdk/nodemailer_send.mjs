// Sends one message with nodemailer, as an application would, and prints the outcome as one JSON line.
// Usage: node nodemailer_send.mjs '<json>' where json is
//   {"transport": {nodemailer SMTP transport options, plus "caFile": PEM path}, "message": {nodemailer message}}
// Output: {"ok":true,"accepted":[…],"rejected":[…],"response":"250 …","envelope":{…}}
//      or {"ok":false,"code":"EAUTH","responseCode":535,"response":"535 …","command":"AUTH PLAIN"}
import fs from "node:fs";
import nodemailer from "nodemailer";

const { transport, message } = JSON.parse(process.argv[2]);
const options = { ...transport };
if (options.caFile) {
  options.tls = { ...(options.tls || {}), ca: fs.readFileSync(options.caFile) };
  delete options.caFile;
}
const transporter = nodemailer.createTransport(options);
try {
  const info = await transporter.sendMail(message);
  console.log(JSON.stringify({ ok: true, accepted: info.accepted, rejected: info.rejected, response: info.response,
                               envelope: info.envelope }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code, responseCode: e.responseCode, response: e.response,
                               command: e.command, message: e.message }));
} finally {
  transporter.close();
}
