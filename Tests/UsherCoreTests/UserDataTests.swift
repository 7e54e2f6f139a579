import Testing
import UsherCore
import UsherCrypto

@Suite struct UserDataTests {
    @Test("builds the V7 user_data text")
    func minimal() throws {
        #expect(try UserData.make(userID: "12345") == #"{"id":"12345"}"#)
    }

    @Test("adds user_info and watchlist in that order")
    func full() throws {
        let text = try UserData.make(userID: "1", userInfo: .object(["name": .string("Ann")]), watchlist: ["2", "3"])
        #expect(text == #"{"id":"1","user_info":{"name":"Ann"},"watchlist":["2","3"]}"#)
        #expect(try UserData.make(userID: "1", watchlist: []) == #"{"id":"1","watchlist":[]}"#)
    }

    @Test("watchlists of 100 pass and 101 fail")
    func watchlistLimit() throws {
        let hundred = (1...100).map(String.init)
        #expect(try UserData.make(userID: "1", watchlist: hundred).hasSuffix(#""100"]}"#))
        #expect(throws: CoreError.watchlistTooLong) { try UserData.make(userID: "1", watchlist: hundred + ["101"]) }
    }

    @Test("refuses an empty or too long id and a non-object user_info")
    func rejects() {
        #expect(throws: CoreError.missingUserID) { try UserData.make(userID: "") }
        #expect(throws: CoreError.userIDTooLong) { try UserData.make(userID: String(repeating: "1", count: 129)) }
        #expect(throws: CoreError.invalidUserInfo) { try UserData.make(userID: "1", userInfo: .integer(1)) }
    }

    @Test("the made text signs to the V7 answer")
    func signsAsV7() throws {
        let answer = try Fixtures.authorizer().signIn(socketID: Fixtures.socket(), userData: UserData.make(userID: "12345"))
        #expect(answer.auth == "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba")
    }
}
