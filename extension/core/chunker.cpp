#include "chunker.hpp"

#include "error.hpp"
#include "interrupts.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace agentgres::core::chunker {
namespace {

// Indentation, trailing blanks and fence markers are looked at through at
// most this many bytes: a line of megabytes of spaces then costs nothing per
// window (such a line scores as deep, which only affects where a cut goes).
constexpr std::size_t kScanCap = 256;

// check_interrupt is called after about this many bytes of work.
constexpr std::size_t kInterruptEvery = 256 * 1024;

// Cut preferences (higher is better); a candidate's score is level * 64 plus
// a bonus of up to 63 (shallower next line in code).
enum Level : int {
	kHard = 0,         // anywhere on a character boundary
	kSpace = 2,        // at a space inside a line
	kPunct = 3,        // after ; , } ) inside a long line of code
	kSentence = 6,     // after . ! ? inside a line (text, Markdown)
	kLineEnd = 7,      // any line end
	kLineNoDeeper = 8, // code: next line no deeper; text: the line ends a sentence
	kBlank = 9,        // code: a blank line
	kBlockEnd = 10,    // code: end of a nested block; text, Markdown: paragraph end
	kTopBlank = 11,    // code: a blank line before a line at column 0
	kTop = 12,         // code: end of a top-level block; Markdown: before a heading
};

enum class Mode { kCode, kMarkdown, kText };

enum class LineClass : std::uint8_t { kNormal, kCloser, kContinuation };

bool
IsWs(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// Whitespace inside a line.
bool
IsBlank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool
IsWordByte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}
bool
IsContinuationByte(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}
// Length of the well-formed-looking sequence a lead byte starts; 0 if the
// byte cannot start one (then it is a character of its own).
std::size_t
LeadLength(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

struct Candidate {
	std::size_t pos;   // the chunk's content would end here (before trimming)
	std::size_t chars; // characters from the window's start to pos
	int score;
};

// What the start of a line says about the structure around it.
struct LineInfo {
	std::size_t start = 0;
	std::size_t indent = 0; // bytes of blanks before the first non-blank (capped)
	bool blank = false;
	LineClass cls = LineClass::kNormal;
	bool heading = false;  // Markdown ATX heading outside a fence
	bool in_fence = false; // Markdown: the line is inside a fenced block or is one of its fences
	bool closes_fence = false;
};

struct LineEnd {
	LineInfo info;
	std::size_t content_end; // before CR LF / LF
	std::size_t chars;       // characters from the window's start to content_end
	bool complete;           // the line's end is inside the window
	bool sentence_end;       // the line's last non-blank character ends a sentence
};

struct Fence {
	char ch = 0; // '`' or '~' inside a fenced block, 0 outside
	std::size_t len = 0;
};

class Splitter {
public:
	Splitter(std::string_view text, Mode mode, const Options &options, const std::function<void()> &check_interrupt)
	    : s_(text), n_(text.size()), mode_(mode), size_(options.chunk_size), overlap_(options.overlap),
	      ticker_(check_interrupt, kInterruptEvery)
	{
	}

	std::vector<Chunk>
	Run()
	{
		std::vector<Chunk> chunks;
		std::size_t begin = TrimStart(0);
		std::size_t prev_end = 0; // content before it is in chunks already
		while (begin < n_) {
			Work(0);
			MoveCursor(begin);
			const std::size_t m = NextNonWs(chunks.empty() ? begin : prev_end);
			std::size_t cut = 0;
			int score = 0;
			if (!Choose(begin, m, !chunks.empty() && begin < prev_end, cut, score)) {
				// The overlap left no room for new content at a good cut:
				// this chunk starts where the new content does.
				begin = TrimStart(prev_end);
				MoveCursor(begin);
				Choose(begin, m, false, cut, score);
			}
			const std::size_t end = TrimEnd(begin, cut);
			if (end <= begin || (!chunks.empty() && end <= prev_end))
				throw Error(ErrorCode::kInternalError, "chunker made no progress at byte " + std::to_string(begin));
			const std::size_t line_start = cursor_line_;
			const std::size_t line_end =
			    line_start + static_cast<std::size_t>(std::count(s_.begin() + begin, s_.begin() + end, '\n'));
			chunks.push_back(Chunk{begin, end, line_start, line_end});
			prev_end = end;
			if (NextNonWs(end) >= n_)
				break;
			begin = TrimStart(OverlapStart(begin, end, score));
		}
		return chunks;
	}

private:
	std::string_view s_;
	std::size_t n_;
	Mode mode_;
	std::size_t size_, overlap_;
	InterruptTicker ticker_;

	// [ws_from_, ws_to_) is whitespace and ws_to_ is n_ or not whitespace.
	std::size_t ws_from_ = 1, ws_to_ = 0;

	// The line holding the current chunk's begin: its start, 1-based number,
	// the position of its LF (or n_), its Markdown fence state at its start
	// and what its start looks like.
	std::size_t cursor_start_ = 0, cursor_line_ = 1, cursor_lf_ = SIZE_MAX;
	Fence cursor_fence_;
	bool cursor_info_valid_ = false;
	LineInfo cursor_info_;

	bool cut_in_fence_ = false;
	std::vector<LineEnd> lines_;
	std::vector<Candidate> inline_;

	unsigned char
	At(std::size_t i) const
	{
		return static_cast<unsigned char>(s_[i]);
	}

	void
	Work(std::size_t bytes)
	{
		ticker_.Work(bytes);
	}

	// Bytes of the character at boundary i.
	std::size_t
	CharLen(std::size_t i) const
	{
		const std::size_t len = LeadLength(At(i));
		if (len <= 1 || i + len > n_)
			return 1;
		for (std::size_t k = 1; k < len; ++k)
			if (!IsContinuationByte(At(i + k)))
				return 1;
		return len;
	}

	// True when a chunk may start or end at p.
	bool
	IsBoundary(std::size_t p) const
	{
		if (p == 0 || p >= n_)
			return true;
		if (At(p) == '\n' && At(p - 1) == '\r')
			return false;
		if (!IsContinuationByte(At(p)))
			return true;
		for (std::size_t q = p - 1, back = 0; back < 3; --q, ++back) {
			if (!IsContinuationByte(At(q)))
				return CharLen(q) <= p - q;
			if (q == 0)
				break;
		}
		return true; // a stray continuation byte is a character of its own
	}

	std::size_t
	PrevBoundary(std::size_t p) const
	{
		do
			--p;
		while (p > 0 && !IsBoundary(p));
		return p;
	}

	std::size_t
	NextNonWs(std::size_t p)
	{
		if (p >= ws_from_ && p <= ws_to_)
			return ws_to_;
		std::size_t q = p;
		while (q < n_ && IsWs(At(q)))
			++q;
		Work(q - p);
		ws_from_ = p;
		ws_to_ = q;
		return q;
	}

	bool
	AtLineStart(std::size_t p) const
	{
		return p == 0 || At(p - 1) == '\n';
	}

	// Where a chunk starting at or after p begins: its first non-whitespace
	// character, or the start of that character's line when p is at or
	// before it (keeping the indentation, unless absurdly deep).
	std::size_t
	TrimStart(std::size_t p)
	{
		const std::size_t f = NextNonWs(p);
		if (f >= n_)
			return n_;
		std::size_t ls = f;
		while (ls > p && At(ls - 1) != '\n')
			--ls;
		if (ls == p && !AtLineStart(p))
			return f;
		return f - ls <= size_ / 4 ? ls : f;
	}

	// The end of the content in [begin, cut) without trailing whitespace.
	std::size_t
	TrimEnd(std::size_t begin, std::size_t cut) const
	{
		while (cut > begin && IsWs(At(cut - 1)))
			--cut;
		return cut;
	}

	// Markdown: whether the line at ls is a fence, and the state after it.
	// Returns true when the line is a fence line (opening or closing).
	bool
	FenceStep(Fence &fence, std::size_t ls, bool &closes) const
	{
		closes = false;
		std::size_t q = ls, spaces = 0;
		while (q < n_ && At(q) == ' ' && spaces < 4) {
			++q;
			++spaces;
		}
		if (spaces > 3 || q >= n_ || (At(q) != '`' && At(q) != '~'))
			return false;
		const char ch = static_cast<char>(At(q));
		std::size_t run = 0;
		while (q < n_ && At(q) == static_cast<unsigned char>(ch)) {
			++q;
			++run;
		}
		if (run < 3)
			return false;
		if (fence.ch == 0) {
			fence.ch = ch;
			fence.len = run;
			return true;
		}
		if (ch != fence.ch || run < fence.len)
			return false;
		std::size_t rest = 0;
		while (q < n_ && IsBlank(At(q)) && rest < kScanCap) {
			++q;
			++rest;
		}
		if (q < n_ && At(q) != '\n')
			return false;
		fence = Fence{};
		closes = true;
		return true;
	}

	LineClass
	ClassOf(std::size_t q) const
	{
		if (q >= n_)
			return LineClass::kNormal;
		switch (At(q)) {
		case '}':
		case ')':
		case ']':
			return LineClass::kCloser;
		case '{':
		case '.':
		case '&':
		case '|':
		case '?':
			return LineClass::kContinuation;
		default:
			break;
		}
		static constexpr std::array<std::string_view, 9> kClosers = {
		    "end", "fi", "done", "esac", "endif", "endfunction", "endmacro", "endforeach", "endwhile"};
		static constexpr std::array<std::string_view, 11> kContinuations = {
		    "else", "elif", "elsif", "except", "finally", "catch", "rescue", "ensure", "when", "then", "do"};
		// The word at q (lower-case letters only: the keywords are).
		std::size_t e = q;
		while (e < n_ && e - q <= 11 && At(e) >= 'a' && At(e) <= 'z')
			++e;
		if (e == q || e - q > 11 || (e < n_ && IsWordByte(At(e))))
			return LineClass::kNormal;
		const std::string_view word = s_.substr(q, e - q);
		if (std::find(kClosers.begin(), kClosers.end(), word) != kClosers.end())
			return LineClass::kCloser;
		if (std::find(kContinuations.begin(), kContinuations.end(), word) != kContinuations.end())
			return LineClass::kContinuation;
		return LineClass::kNormal;
	}

	// What the line at ls looks like; fence is the Markdown state at its
	// start and becomes the state after it.
	LineInfo
	Classify(std::size_t ls, Fence &fence) const
	{
		LineInfo info;
		info.start = ls;
		std::size_t q = ls;
		while (q < n_ && IsBlank(At(q)) && q - ls < kScanCap)
			++q;
		info.indent = q - ls;
		info.blank = q >= n_ || At(q) == '\n'; // deeper than kScanCap: a deep non-blank line
		info.cls = ClassOf(q);
		if (mode_ == Mode::kMarkdown) {
			const bool was_in = fence.ch != 0;
			bool closes = false;
			const bool delimiter = FenceStep(fence, ls, closes);
			info.in_fence = was_in || delimiter;
			info.closes_fence = closes;
			if (!info.in_fence && info.indent <= 3) {
				std::size_t h = q;
				while (h < n_ && At(h) == '#' && h - q < 7)
					++h;
				info.heading = h > q && h - q <= 6 && (h >= n_ || IsWs(At(h)));
			}
		}
		return info;
	}

	// Moves the line cursor forward to the line holding p.
	void
	MoveCursor(std::size_t p)
	{
		for (;;) {
			if (cursor_lf_ == SIZE_MAX) {
				const void *lf = std::memchr(s_.data() + cursor_start_, '\n', n_ - cursor_start_);
				cursor_lf_ = lf ? static_cast<std::size_t>(static_cast<const char *>(lf) - s_.data()) : n_;
				Work(cursor_lf_ - cursor_start_);
			}
			if (p <= cursor_lf_ || cursor_lf_ >= n_)
				break;
			if (mode_ == Mode::kMarkdown) {
				bool closes = false;
				FenceStep(cursor_fence_, cursor_start_, closes);
			}
			cursor_start_ = cursor_lf_ + 1;
			++cursor_line_;
			cursor_lf_ = SIZE_MAX;
			cursor_info_valid_ = false;
		}
		if (!cursor_info_valid_) {
			Fence fence = cursor_fence_;
			cursor_info_ = Classify(cursor_start_, fence);
			cursor_info_valid_ = true;
		}
	}

	bool
	EndsSentence(std::size_t content_end, std::size_t floor) const
	{
		std::size_t e = content_end, cap = 0;
		while (e > floor && IsBlank(At(e - 1)) && cap++ < kScanCap)
			--e;
		if (e > floor && (At(e - 1) == '"' || At(e - 1) == '\'' || At(e - 1) == ')' || At(e - 1) == ']'))
			--e;
		if (e > floor && (At(e - 1) == '.' || At(e - 1) == '!' || At(e - 1) == '?'))
			return true;
		// 。！？ (U+3002, U+FF01, U+FF1F)
		if (e >= floor + 3) {
			const std::string_view t = s_.substr(e - 3, 3);
			return t == "\xE3\x80\x82" || t == "\xEF\xBC\x81" || t == "\xEF\xBC\x9F";
		}
		return false;
	}

	// An in-line candidate at boundary j (the content would end before j).
	void
	InlineCandidate(std::size_t begin, std::size_t j, std::size_t chars)
	{
		if (j <= begin)
			return;
		const unsigned char c = At(j), prev = At(j - 1);
		if (IsBlank(c) && !IsWs(prev)) {
			int level = kSpace;
			if (mode_ != Mode::kCode && EndsSentence(j, begin))
				level = kSentence;
			else if (mode_ == Mode::kCode && (prev == ';' || prev == ',' || prev == '}' || prev == ')'))
				level = kPunct;
			inline_.push_back(Candidate{j, chars, level * 64 + 63});
			return;
		}
		if (IsWs(c) || IsWs(prev))
			return;
		if (mode_ == Mode::kCode) {
			if (prev == ';' || prev == ',' || prev == '}' || prev == ')')
				inline_.push_back(Candidate{j, chars, kPunct * 64 + 63});
		} else if (prev >= 0x80 && j >= begin + 3 && EndsSentence(j, begin)) {
			inline_.push_back(Candidate{j, chars, kSentence * 64 + 63});
		}
	}

	// The score of cutting after line p when the next non-blank line is n.
	int
	LineEndScore(const LineEnd &p, const LineInfo &n, bool blank_between) const
	{
		const int bonus = 63 - static_cast<int>(std::min<std::size_t>(n.indent, 63));
		switch (mode_) {
		case Mode::kCode: {
			if (n.cls != LineClass::kNormal)
				return kLineEnd * 64 + bonus;
			const bool block_end = (p.info.cls == LineClass::kCloser && n.indent <= p.info.indent) ||
			                       p.info.indent > n.indent;
			int level = kLineEnd;
			if (block_end && n.indent == 0)
				level = kTop;
			else if (blank_between && n.indent == 0)
				level = kTopBlank;
			else if (block_end)
				level = kBlockEnd;
			else if (blank_between)
				level = kBlank;
			else if (n.indent <= p.info.indent)
				level = kLineNoDeeper;
			return level * 64 + bonus;
		}
		case Mode::kMarkdown:
			if (n.heading)
				return kTop * 64 + 63;
			if (p.info.in_fence && !p.info.closes_fence && n.in_fence)
				return kLineEnd * 64 + 63;
			if (p.info.closes_fence || blank_between)
				return kBlockEnd * 64 + 63;
			return (p.sentence_end ? kLineNoDeeper : kLineEnd) * 64 + 63;
		case Mode::kText:
			if (blank_between)
				return kBlockEnd * 64 + 63;
			return (p.sentence_end ? kLineNoDeeper : kLineEnd) * 64 + 63;
		}
		return kLineEnd * 64;
	}

	// The next non-blank line at or after the line start p, with the fence
	// state there; false when only whitespace follows.
	bool
	LookAhead(std::size_t p, Fence fence, LineInfo &info, bool &blank_between)
	{
		const std::size_t f = NextNonWs(p);
		if (f >= n_)
			return false;
		std::size_t ls = f;
		while (ls > p && At(ls - 1) != '\n')
			--ls;
		blank_between = ls > p;
		info = Classify(ls, fence);
		return true;
	}

	// Scans the window of size_ characters from begin and picks where the
	// chunk ends: cut (> m, the first byte of content not yet in a chunk).
	// False, when may_refuse (the window starts in the previous chunk),
	// when no line-level cut lies past m: then the caller drops the overlap
	// and calls again.
	bool
	Choose(std::size_t begin, std::size_t m, bool may_refuse, std::size_t &cut, int &score)
	{
		if (!ChooseCut(begin, m, may_refuse, cut, score))
			return false;
		// Markdown: a cut at a line of a fenced block is followed by an
		// overlap that starts at a line start, as in code.
		cut_in_fence_ = false;
		if (mode_ == Mode::kMarkdown)
			for (const LineEnd &line : lines_)
				if (line.content_end >= cut) {
					cut_in_fence_ = line.info.in_fence;
					break;
				}
		return true;
	}

	bool
	ChooseCut(std::size_t begin, std::size_t m, bool may_refuse, std::size_t &cut, int &score)
	{
		lines_.clear();
		inline_.clear();
		Fence fence = cursor_fence_;
		LineInfo info = cursor_info_;
		if (mode_ == Mode::kMarkdown) {
			bool closes = false;
			FenceStep(fence, cursor_start_, closes); // fence is now the state after the first line
		}
		std::size_t j = begin, chars = 0, m_chars = 0;
		bool full = false;
		for (;;) {
			const std::size_t first = j;
			bool cut_inside = mode_ != Mode::kMarkdown || !info.in_fence;
			if (mode_ == Mode::kCode && cut_inside) {
				// Code is cut inside a line only when the line does not
				// end in the window; a line end within as many bytes as
				// characters are left surely does.
				const std::size_t reach = std::min(n_ - j, size_ - chars + 1);
				cut_inside = std::memchr(s_.data() + j, '\n', reach) == nullptr;
			}
			if (cut_inside) {
				while (j < n_ && At(j) != '\n' && chars < size_) {
					if (j == m)
						m_chars = chars;
					InlineCandidate(begin, j, chars);
					j += CharLen(j);
					++chars;
				}
			} else {
				while (j < n_ && chars < size_) {
					const unsigned char c = At(j);
					if (c == '\n')
						break;
					if (j == m)
						m_chars = chars;
					j += c < 0x80 ? 1 : CharLen(j);
					++chars;
				}
			}
			Work(j - first);
			if (j < n_ && At(j) != '\n') { // the window ends inside this line
				lines_.push_back(LineEnd{info, j, chars, false, false});
				full = true;
				break;
			}
			const bool crlf = j > info.start && j < n_ && At(j - 1) == '\r';
			const std::size_t content_end = crlf ? j - 1 : j;
			if (j == m)
				m_chars = chars;
			lines_.push_back(LineEnd{info, content_end, chars - (crlf ? 1 : 0), true,
			                         !info.blank && mode_ != Mode::kCode && EndsSentence(content_end, begin)});
			if (j >= n_)
				break;
			if (chars >= size_) {
				full = true;
				j = content_end; // window ends at the line end, never between CR and LF
				break;
			}
			++j;
			++chars;
			info = Classify(j, fence);
		}
		const std::size_t limit = j;
		if (!full || NextNonWs(limit) >= n_) {
			// The rest of the input fits.
			cut = n_;
			score = kTop * 64 + 63;
			return true;
		}
		if (m >= limit && may_refuse)
			return false;

		// Line-end candidates: after each complete non-blank line, scored
		// by the next non-blank line (in the window, or looked ahead).
		LineInfo next;
		bool have_next = false, blank_between = false;
		const LineEnd &last = lines_.back();
		if (!last.complete && !last.info.blank) {
			next = last.info;
			have_next = true;
		} else {
			const std::size_t after = last.complete ? last.content_end + (At(last.content_end) == '\r' ? 2 : 1)
			                                        : last.info.start;
			have_next = LookAhead(after, fence, next, blank_between);
		}
		// Cuts are looked for in the last 35% of the window, sentence ends
		// in text in the last half, the best kinds (end of a top-level block,
		// heading, paragraph) in the last 60%; and in at least the last half
		// (two fifths, a third) of what follows m, so that a chunk after a
		// large overlap still brings new content.
		const std::size_t lo_chars = std::max(size_ * 13 / 20, m_chars + (size_ - m_chars) / 2);
		const std::size_t lo_chars_good = std::max(size_ / 2, m_chars + (size_ - m_chars) * 2 / 5);
		const std::size_t lo_chars_best = std::max(size_ * 2 / 5, m_chars + (size_ - m_chars) / 3);
		const int best_kind = (mode_ == Mode::kCode ? kTopBlank : kBlockEnd) * 64;
		const int good_kind = mode_ == Mode::kCode ? best_kind : kSentence * 64;
		const auto in_region = [&](const Candidate &c) {
			return c.chars >= lo_chars || (c.score >= best_kind && c.chars >= lo_chars_best) ||
			       (c.score >= good_kind && c.chars >= lo_chars_good);
		};
		const int line_threshold = mode_ == Mode::kCode ? kLineEnd * 64 : 0;
		bool found = false, found_latest = false;
		Candidate best{0, 0, -1}, latest{0, 0, -1};
		for (std::size_t i = lines_.size(); i-- > 0;) {
			const LineEnd &line = lines_[i];
			if (line.info.blank) {
				blank_between = true;
				continue;
			}
			if (line.complete && have_next && line.content_end > m && line.content_end > begin) {
				const Candidate c{line.content_end, line.chars, LineEndScore(line, next, blank_between)};
				if (!found_latest) {
					latest = c;
					found_latest = true;
				}
				if (in_region(c) && c.score > best.score) {
					best = c;
					found = true;
				}
			}
			next = line.info;
			have_next = true;
			blank_between = false;
		}
		if (found && best.score >= line_threshold) {
			cut = best.pos;
			score = best.score;
			return true;
		}
		// Code is cut inside a line only when that line does not fit a
		// window of its own.
		if (mode_ == Mode::kCode && !found_latest && may_refuse)
			return false;
		// In-line candidates (text and Markdown cut lines freely; code only
		// when no line end is in reach).
		const bool inline_allowed = mode_ != Mode::kCode || !found_latest;
		Candidate ibest{0, 0, -1};
		if (inline_allowed) {
			for (const Candidate &c : inline_)
				if (c.pos > m && in_region(c) && c.score >= ibest.score)
					ibest = c;
			if (ibest.score >= 0 && (!found || ibest.score > best.score)) {
				cut = ibest.pos;
				score = ibest.score;
				return true;
			}
		}
		if (found) {
			cut = best.pos;
			score = best.score;
			return true;
		}
		if (found_latest) {
			cut = latest.pos;
			score = latest.score;
			return true;
		}
		if (may_refuse)
			return false; // a fresh window from m may hold a whole line
		if (!inline_.empty() && inline_.back().pos > m) {
			cut = inline_.back().pos;
			score = inline_.back().score;
			return true;
		}
		cut = limit;
		score = kHard * 64;
		return true;
	}

	// Where the next chunk starts so that it shares at most overlap_
	// characters with [begin, end): code at a line start (or nowhere, when
	// the last line is longer than the overlap), text at a word start.
	std::size_t
	OverlapStart(std::size_t begin, std::size_t end, int score)
	{
		if (overlap_ == 0)
			return end;
		std::size_t q = end, k = 0, half = end; // half: overlap_ / 2 characters before end
		while (q > begin) {
			const std::size_t p = PrevBoundary(q);
			const std::size_t width = q - p == 2 && At(p) == '\r' ? 2 : 1; // CR LF: two characters
			if (k + width > overlap_)
				break;
			k += width;
			q = p;
			if (k <= overlap_ / 2)
				half = q;
		}
		Work(end - q);
		if (q == begin)
			q = begin + CharLen(begin);
		if (mode_ == Mode::kCode || cut_in_fence_) {
			for (std::size_t p = q; p < end; ++p)
				if (AtLineStart(p))
					return p;
			if (score >= kLineEnd * 64)
				return end;
		} else {
			// Text: a line or sentence start when it keeps at least half
			// the overlap, else the first word start.
			for (std::size_t p = q; p < half; ++p)
				if (!IsWs(At(p)) && (AtLineStart(p) || (p >= q + 2 && IsBlank(At(p - 1)) && EndsSentence(p - 1, q))))
					return p;
		}
		for (std::size_t p = q; p < end; ++p)
			if (IsWs(At(p - 1)) && !IsWs(At(p)))
				return p;
		return q;
	}
};

struct LanguageName {
	std::string_view key;
	std::string_view language;
};

// File names first (lower case), then extensions.
constexpr std::array<LanguageName, 19> kFileNames = {{
    {"makefile", "make"},         {"gnumakefile", "make"},         {"cmakelists.txt", "cmake"},
    {"dockerfile", "dockerfile"}, {"containerfile", "dockerfile"}, {"rakefile", "ruby"},
    {"gemfile", "ruby"},          {"vagrantfile", "ruby"},         {".bashrc", "shell"},
    {".bash_profile", "shell"},   {".profile", "shell"},           {".zshrc", "shell"},
    {"pkgbuild", "shell"},        {"meson.build", "meson"},        {"build.gradle", "groovy"},
    {"jenkinsfile", "groovy"},    {"cargo.lock", "toml"},          {"go.mod", "gomod"},
    {"readme", "text"},
}};

constexpr std::array<LanguageName, 79> kExtensions = {{
    {"c", "c"},
    {"h", "cpp"},
    {"cc", "cpp"},
    {"cpp", "cpp"},
    {"cxx", "cpp"},
    {"c++", "cpp"},
    {"hh", "cpp"},
    {"hpp", "cpp"},
    {"hxx", "cpp"},
    {"h++", "cpp"},
    {"ipp", "cpp"},
    {"tpp", "cpp"},
    {"inl", "cpp"},
    {"cu", "cpp"},
    {"py", "python"},
    {"pyi", "python"},
    {"pyw", "python"},
    {"js", "javascript"},
    {"mjs", "javascript"},
    {"cjs", "javascript"},
    {"jsx", "javascript"},
    {"ts", "typescript"},
    {"tsx", "typescript"},
    {"mts", "typescript"},
    {"cts", "typescript"},
    {"go", "go"},
    {"rs", "rust"},
    {"java", "java"},
    {"kt", "kotlin"},
    {"kts", "kotlin"},
    {"scala", "scala"},
    {"cs", "csharp"},
    {"swift", "swift"},
    {"php", "php"},
    {"lua", "lua"},
    {"r", "r"},
    {"sql", "sql"},
    {"pgsql", "sql"},
    {"plpgsql", "sql"},
    {"psql", "sql"},
    {"sh", "shell"},
    {"bash", "shell"},
    {"zsh", "shell"},
    {"ksh", "shell"},
    {"bats", "shell"},
    {"pl", "perl"},
    {"pm", "perl"},
    {"t", "perl"},
    {"rb", "ruby"},
    {"md", "markdown"},
    {"markdown", "markdown"},
    {"mdown", "markdown"},
    {"mkd", "markdown"},
    {"txt", "text"},
    {"text", "text"},
    {"rst", "text"},
    {"adoc", "text"},
    {"toml", "toml"},
    {"yaml", "yaml"},
    {"yml", "yaml"},
    {"json", "json"},
    {"jsonl", "json"},
    {"cmake", "cmake"},
    {"mk", "make"},
    {"mak", "make"},
    {"html", "html"},
    {"htm", "html"},
    {"xhtml", "html"},
    {"xml", "xml"},
    {"svg", "xml"},
    {"css", "css"},
    {"scss", "css"},
    {"less", "css"},
    {"proto", "proto"},
    {"ini", "ini"},
    {"cfg", "ini"},
    {"conf", "ini"},
    {"control", "ini"},
    {"service", "ini"},
}};

constexpr std::array<std::string_view, 33> kCodeLanguages = {
    "c",    "cpp",        "cmake", "csharp", "css",   "dockerfile", "go",    "gomod", "groovy",     "html",  "ini",
    "java", "javascript", "json",  "kotlin", "lua",   "make",       "meson", "perl",  "php",        "proto", "python",
    "r",    "ruby",       "rust",  "scala",  "shell", "sql",        "swift", "toml",  "typescript", "xml",   "yaml"};

std::string
Lower(std::string_view s)
{
	std::string out(s);
	for (char &c : out)
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	return out;
}

} // namespace

std::string
LanguageOf(std::string_view uri)
{
	if (uri.find("://") != std::string_view::npos)
		uri = uri.substr(0, uri.find_first_of("?#"));
	const std::size_t slash = uri.find_last_of("/\\");
	std::string name = Lower(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
	for (;;) {
		for (const LanguageName &f : kFileNames)
			if (name == f.key)
				return std::string(f.language);
		if (name.starts_with("makefile.") || name.starts_with("dockerfile."))
			return name[0] == 'm' ? "make" : "dockerfile";
		const std::size_t dot = name.rfind('.');
		if (dot == std::string::npos || dot == 0)
			return "text";
		const std::string_view ext = std::string_view(name).substr(dot + 1);
		if (ext == "in" || ext == "tmpl" || ext == "template") {
			name.resize(dot);
			continue;
		}
		for (const LanguageName &e : kExtensions)
			if (ext == e.key)
				return std::string(e.language);
		return "text";
	}
}

bool
IsCode(std::string_view language)
{
	return std::find(kCodeLanguages.begin(), kCodeLanguages.end(), language) != kCodeLanguages.end();
}

bool
LooksBinary(std::string_view content, std::string *reason)
{
	const auto fail = [&](const char *what, std::size_t at) {
		if (reason)
			*reason = std::string(what) + " at byte offset " + std::to_string(at);
		return true;
	};
	const std::size_t n = content.size();
	for (std::size_t i = 0; i < n;) {
		const auto c = static_cast<unsigned char>(content[i]);
		if (c < 0x80) {
			if (c == 0)
				return fail("NUL byte", i);
			++i;
			continue;
		}
		std::size_t len = 0;
		unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0; // overlong
			else if (c == 0xED)
				hi = 0x9F; // surrogates
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90; // overlong
			else if (c == 0xF4)
				hi = 0x8F; // above U+10FFFF
		} else {
			return fail("invalid UTF-8", i);
		}
		if (i + len > n)
			return fail("truncated UTF-8 sequence", i);
		const auto second = static_cast<unsigned char>(content[i + 1]);
		if (second < lo || second > hi)
			return fail("invalid UTF-8", i);
		for (std::size_t k = 2; k < len; ++k)
			if (!IsContinuationByte(static_cast<unsigned char>(content[i + k])))
				return fail("invalid UTF-8", i);
		i += len;
	}
	if (reason)
		reason->clear();
	return false;
}

void
CheckOptions(const Options &options)
{
	if (options.chunk_size < 1 || options.chunk_size > kMaxChunkSize)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "chunk size must be between 1 and " + std::to_string(kMaxChunkSize) + " characters",
		            "The chunk size is " + std::to_string(options.chunk_size) + ".");
	if (options.overlap >= options.chunk_size)
		throw Error(ErrorCode::kInvalidParameterValue, "chunk overlap must be less than the chunk size",
		            "The overlap is " + std::to_string(options.overlap) + " and the chunk size " +
		                std::to_string(options.chunk_size) + ".");
}

Options
MakeOptions(std::int64_t chunk_size, std::int64_t overlap)
{
	if (chunk_size < 1 || chunk_size > static_cast<std::int64_t>(kMaxChunkSize))
		throw Error(ErrorCode::kInvalidParameterValue,
		            "chunk size must be between 1 and " + std::to_string(kMaxChunkSize) + " characters",
		            "The chunk size is " + std::to_string(chunk_size) + ".");
	if (overlap < 0)
		throw Error(ErrorCode::kInvalidParameterValue, "chunk overlap must not be negative",
		            "The overlap is " + std::to_string(overlap) + ".");
	Options options{static_cast<std::size_t>(chunk_size), static_cast<std::size_t>(overlap)};
	CheckOptions(options);
	return options;
}

std::size_t
ChunkOfLine(const std::vector<Chunk> &chunks, std::size_t line)
{
	// line_start never decreases. The last chunk starting at or before the
	// line; of several starting on that same line (a long line cut in
	// pieces), the first.
	auto it = std::upper_bound(chunks.begin(), chunks.end(), line, [](std::size_t l, const Chunk &c) {
		return l < c.line_start;
	});
	if (it == chunks.begin() || std::prev(it)->line_end < line)
		return chunks.size();
	it = std::lower_bound(chunks.begin(), it, std::prev(it)->line_start, [](const Chunk &c, std::size_t l) {
		return c.line_start < l;
	});
	return static_cast<std::size_t>(it - chunks.begin());
}

std::vector<Chunk>
Split(std::string_view content, std::string_view language, const Options &options,
      const std::function<void()> &check_interrupt)
{
	CheckOptions(options);
	const Mode mode = IsCode(language) ? Mode::kCode : language == "markdown" ? Mode::kMarkdown : Mode::kText;
	return Splitter(content, mode, options, check_interrupt).Run();
}

} // namespace agentgres::core::chunker
