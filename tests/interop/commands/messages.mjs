// Message-type commands backed by Baileys: its message builder (generateWAMessageContent), its
// protobuf codec (WAProto), its poll-vote decryption (decryptPollVote) and vote aggregation
// (getAggregateVotesInPollMessage), and, for encrypting a vote (Baileys only decrypts them), its
// crypto helpers composed as its decryptPollVote composes them. All byte values are hex strings.
//
//   messages.generate      {content}                 -> proto (hex): generateWAMessageContent(content)
//       `content` is Baileys' AnyMessageContent as JSON; a `poll.messageSecret` given as hex is
//       converted to bytes. Only content that needs no upload (text, react, delete, edit, poll,
//       location, contacts, disappearingMessagesInChat) is allowed.
//   messages.decode        {proto}                   -> {json, contentType}
//       Message.decode(proto).toJSON() and getContentType of the normalised content.
//   messages.decryptPollVote {encPayload, encIv, pollCreatorJid, pollMsgId, pollEncKey, voterJid}
//                                                     -> {selectedOptions: [hex]}
//   messages.encryptPollVote {selectedOptions: [hex], encIv, pollCreatorJid, pollMsgId,
//                             pollEncKey, voterJid}  -> {encPayload}
//   messages.aggregate     {poll, votes: [{voter, selectedOptions: [hex]}]}
//                                                     -> [{name, voters}]
//       `poll` is the poll creation message as protobuf hex.
import { proto } from 'baileys/WAProto/index.js';
import { aesEncryptGCM, hmacSign } from 'baileys/lib/Utils/crypto.js';
import {
	generateWAMessageContent,
	getAggregateVotesInPollMessage,
	getContentType,
	normalizeMessageContent,
} from 'baileys/lib/Utils/messages.js';
import { decryptPollVote } from 'baileys/lib/Utils/process-message.js';

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};

const NO_UPLOAD = new Set([
	'text',
	'react',
	'delete',
	'edit',
	'poll',
	'location',
	'contacts',
	'disappearingMessagesInChat',
	'mentions',
	'contextInfo',
]);

export const commands = {
	'messages.generate': async ({ content }) => {
		for (const k of Object.keys(content)) {
			if (!NO_UPLOAD.has(k)) {
				throw new Error(`content key ${k} is not supported here`);
			}
		}
		if (content.poll?.messageSecret) {
			content.poll.messageSecret = buf(content.poll.messageSecret);
		}
		const upload = async () => {
			throw new Error('no uploads in the oracle');
		};
		const msg = await generateWAMessageContent(content, { upload });
		return hex(proto.Message.encode(msg).finish());
	},

	'messages.decode': async ({ proto: bytes }) => {
		const msg = proto.Message.decode(buf(bytes));
		return {
			json: proto.Message.toObject(msg, { longs: Number, bytes: String, defaults: false }),
			contentType: getContentType(normalizeMessageContent(msg)) ?? null,
		};
	},

	'messages.decryptPollVote': async p => {
		const vote = decryptPollVote(
			{ encPayload: buf(p.encPayload), encIv: buf(p.encIv) },
			{
				pollCreatorJid: p.pollCreatorJid,
				pollMsgId: p.pollMsgId,
				pollEncKey: buf(p.pollEncKey),
				voterJid: p.voterJid,
			},
		);
		return { selectedOptions: vote.selectedOptions.map(hex) };
	},

	'messages.encryptPollVote': async p => {
		const plaintext = proto.Message.PollVoteMessage.encode({
			selectedOptions: p.selectedOptions.map(buf),
		}).finish();
		const sign = Buffer.concat([
			Buffer.from(p.pollMsgId),
			Buffer.from(p.pollCreatorJid),
			Buffer.from(p.voterJid),
			Buffer.from('Poll Vote'),
			new Uint8Array([1]),
		]);
		const key0 = hmacSign(buf(p.pollEncKey), new Uint8Array(32), 'sha256');
		const key = hmacSign(sign, key0, 'sha256');
		const aad = Buffer.from(`${p.pollMsgId}\u0000${p.voterJid}`);
		return { encPayload: hex(aesEncryptGCM(plaintext, key, buf(p.encIv), aad)) };
	},

	'messages.aggregate': async ({ poll, votes }) => {
		const message = proto.Message.decode(buf(poll));
		const pollUpdates = votes.map((v, i) => ({
			pollUpdateMessageKey: { remoteJid: v.voter, id: `vote${i}`, fromMe: false, participant: v.voter },
			vote: { selectedOptions: v.selectedOptions.map(buf) },
		}));
		return getAggregateVotesInPollMessage({ message, pollUpdates }, 'me@s.whatsapp.net').map(o => ({
			name: o.name,
			voters: o.voters,
		}));
	},
};
